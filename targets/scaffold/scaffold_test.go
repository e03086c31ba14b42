package scaffold_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"

	"github.com/gantrybuild/gantry/targets/internal/testrepo"
	"github.com/gantrybuild/gantry/targets/scaffold"
)

// kitRoot is the root of this repository.
func kitRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// module writes a fresh Go module (go.mod and a main package) into a temp dir.
func module(t *testing.T, path string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "app")
	if err := testrepo.CopyTree(filepath.Join(testrepo.TestdataDir(), "plain"), dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+path+"\n\ngo 1.26.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readFile(t *testing.T, dir, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInitWritesAndRefusesToOverwrite(t *testing.T) {
	dir := module(t, "github.com/Acme/Shop")
	var out bytes.Buffer
	opts := []scaffold.Option{
		scaffold.WithTemplate("github-split"), scaffold.WithDockerfile(true),
		scaffold.WithKit(scaffold.Version("v0.4.0")), scaffold.WithTidy(false), scaffold.WithOutput(&out),
	}
	if err := scaffold.Init(context.Background(), dir, opts...); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"wrote magefiles/magefile.go", "wrote .github/workflows/image.yml", "wrote Dockerfile", "added /dist/ to .gitignore", "go tool mage release"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if got := readFile(t, dir, ".github/workflows/image.yml"); !strings.Contains(got, "GANTRY_INDEX_FROM: dist/layouts/*") || !strings.Contains(got, "ubuntu-24.04-arm") {
		t.Errorf("workflow is not the split one:\n%s", got)
	}
	if got := readFile(t, dir, "magefiles/magefile.go"); !strings.Contains(got, `Name:      "shop"`) {
		t.Errorf("magefile does not name the image shop:\n%s", got)
	}
	mf, err := modfile.Parse("go.mod", []byte(readFile(t, dir, "go.mod")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(mf.Tool) != 1 || mf.Tool[0].Path != "github.com/magefile/mage" {
		t.Errorf("go.mod tools = %v, want github.com/magefile/mage", mf.Tool)
	}
	if len(mf.Require) != 1 || mf.Require[0].Mod.String() != "github.com/gantrybuild/gantry@v0.4.0" {
		t.Errorf("go.mod requires %v, want github.com/gantrybuild/gantry v0.4.0", mf.Require)
	}
	if len(mf.Replace) != 0 {
		t.Errorf("go.mod has replace directives %v for a published version", mf.Replace)
	}

	// A second run refuses, naming every file, and changes nothing.
	os.WriteFile(filepath.Join(dir, "magefiles", "magefile.go"), []byte("mine"), 0o644)
	err = scaffold.Init(context.Background(), dir, opts...)
	if err == nil {
		t.Fatal("a second init overwrote the files")
	}
	for _, want := range []string{"refusing to overwrite", "magefiles/magefile.go", ".github/workflows/image.yml", "Dockerfile", "GANTRY_INIT_FORCE=1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if got := readFile(t, dir, "magefiles/magefile.go"); got != "mine" {
		t.Errorf("a refused init changed the magefile to:\n%s", got)
	}
	if err := scaffold.Init(context.Background(), dir, append(opts, scaffold.WithForce(true))...); err != nil {
		t.Fatalf("init with force: %v", err)
	}
	if got := readFile(t, dir, "magefiles/magefile.go"); got == "mine" {
		t.Error("init with force kept the old magefile")
	}
	if got := readFile(t, dir, ".gitignore"); strings.Count(got, "/dist/") != 1 {
		t.Errorf(".gitignore = %q, want /dist/ once", got)
	}
}

func TestInitErrors(t *testing.T) {
	ctx := context.Background()
	kit := scaffold.WithKit(scaffold.Version("v0.4.0"))
	err := scaffold.Init(ctx, t.TempDir(), kit, scaffold.WithTidy(false))
	if err == nil || !strings.Contains(err.Error(), "go mod init") {
		t.Errorf("init without go.mod = %v, want an error saying to run go mod init", err)
	}
	err = scaffold.Init(ctx, module(t, "example.com/x"), kit, scaffold.WithTemplate("jenkins"))
	if err == nil || !strings.Contains(err.Error(), `"jenkins"`) || !strings.Contains(err.Error(), "gitlab-split") {
		t.Errorf("init with an unknown template = %v, want an error naming it and the valid ones", err)
	}
}

// TestInitWithLocalKit scaffolds a fresh module with the kit from this
// checkout (a replace directive; offline) and type-checks the magefile there.
// targets/init_test.go runs `go tool mage init`, then release, end to end.
func TestInitWithLocalKit(t *testing.T) {
	ctx := context.Background()
	kit, err := scaffold.Running(ctx, kitRoot())
	if err != nil {
		t.Fatal(err)
	}
	if kit.Dir == "" {
		t.Fatalf("Running in the kit's clone = %v, want a replace to the clone", kit)
	}
	dir := module(t, "example.com/fresh")
	var out bytes.Buffer
	err = scaffold.Init(ctx, dir, scaffold.WithKit(kit), scaffold.WithTemplate("none"), scaffold.WithOutput(&out),
		scaffold.WithTidy(true, "GOPROXY=off", "GOFLAGS=-mod=mod"))
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "replace github.com/gantrybuild/gantry => ") || strings.Contains(out.String(), "wrote .git") {
		t.Errorf("init output:\n%s", out.String())
	}
	mf, err := modfile.Parse("go.mod", []byte(readFile(t, dir, "go.mod")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(mf.Replace) != 1 || mf.Replace[0].New.Path != kit.Dir {
		t.Errorf("go.mod replaces %v, want the kit with %s", mf.Replace, kit.Dir)
	}
	vet := exec.Command("go", "vet", "-tags", "mage", "./magefiles")
	vet.Dir = dir
	vet.Env = append(os.Environ(), "GOPROXY=off")
	if got, err := vet.CombinedOutput(); err != nil {
		t.Errorf("go vet -tags mage ./magefiles after init: %v\n%s", err, got)
	}
}
