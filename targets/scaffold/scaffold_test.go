package scaffold_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
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
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+path+"\n\ngo 1.24.0\n"), 0o644); err != nil {
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
	for _, want := range []string{"wrote magefiles/magefile.go", "wrote magefiles/go.mod", "wrote .github/workflows/image.yml", "wrote Dockerfile", "wrote .gitignore",
		"go.mod, go.sum: unchanged", "1. git add magefiles .github/workflows/image.yml Dockerfile .gitignore && git commit", "2. go -C magefiles tool mage -w .. release", "3. git push"} {
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
	// The application's go.mod is as it was.
	if got := readFile(t, dir, "go.mod"); got != "module github.com/Acme/Shop\n\ngo 1.24.0\n" {
		t.Errorf("init changed go.mod to:\n%s", got)
	}
	// The build module requires the kit.
	kf, err := modfile.Parse("magefiles/go.mod", []byte(readFile(t, dir, "magefiles/go.mod")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if kf.Module.Mod.Path != "github.com/Acme/Shop/magefiles" || len(kf.Require) != 1 || kf.Require[0].Mod.String() != "github.com/gantrybuild/gantry@v0.4.0" || len(kf.Replace) != 0 || len(kf.Tool) != 1 {
		t.Errorf("magefiles/go.mod = module %s, requires %v, replaces %v; want module github.com/Acme/Shop/magefiles requiring github.com/gantrybuild/gantry v0.4.0 and no replace", kf.Module.Mod.Path, kf.Require, kf.Replace)
	}

	// A second run refuses, naming every file, and changes nothing.
	os.WriteFile(filepath.Join(dir, "magefiles", "magefile.go"), []byte("mine"), 0o644)
	err = scaffold.Init(context.Background(), dir, opts...)
	if err == nil {
		t.Fatal("a second init overwrote the files")
	}
	for _, want := range []string{"refusing to overwrite", "magefiles/magefile.go", "magefiles/go.mod", ".github/workflows/image.yml", "Dockerfile", "GANTRY_INIT_FORCE=1"} {
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
// checkout (a replace directive in magefiles/go.mod; offline), then checks
// that the application's build list is what it was, that
// go mod tidy in the application does not pull the kit in, and that the
// magefile type-checks in its module. targets/init_test.go runs init, then
// release, end to end.
func TestInitWithLocalKit(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs go mod tidy and type-checks a magefile against the kit")
	}
	ctx := context.Background()
	kit, err := scaffold.Running(ctx, kitRoot())
	if err != nil {
		t.Fatal(err)
	}
	if kit.Dir == "" {
		t.Fatalf("Running in the kit's clone = %v, want a replace to the clone", kit)
	}
	dir := module(t, "example.com/fresh")
	offline := append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod")
	before := goOut(t, dir, offline, "list", "-m", "all")
	var out bytes.Buffer
	err = scaffold.Init(ctx, dir, scaffold.WithKit(kit), scaffold.WithTemplate("none"), scaffold.WithOutput(&out),
		scaffold.WithTidy(true, "GOPROXY=off", "GOFLAGS=-mod=mod"))
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out.String())
	}
	for _, want := range []string{"replaces github.com/gantrybuild/gantry with the local clone " + kit.Dir + ", which CI cannot see", "go -C magefiles mod edit -dropreplace=github.com/gantrybuild/gantry", "2. git add magefiles .gitignore go.mod go.sum", "3. go tool mage release", "go.mod: gained only mage's tool directive"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("init output lacks %q:\n%s", want, out.String())
		}
	}
	kf, err := modfile.Parse("go.mod", []byte(readFile(t, dir, "magefiles/go.mod")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(kf.Replace) != 1 || kf.Replace[0].New.Path != kit.Dir {
		t.Errorf("magefiles/go.mod replaces %v, want the kit with %s", kf.Replace, kit.Dir)
	}
	if kf.Go == nil || kf.Go.Version != "1.26.0" {
		t.Errorf("magefiles/go.mod go line = %v, want the kit's 1.26.0 (higher than the app's 1.24.0)", kf.Go)
	}
	// The build list gains mage's module (it requires nothing, and no
	// package of the application imports it) and nothing else.
	after := goOut(t, dir, offline, "list", "-m", "all")
	mage := goOut(t, filepath.Join(dir, "magefiles"), offline, "list", "-m", "github.com/magefile/mage")
	if after != before+mage {
		t.Errorf("the application's build list changed beyond mage:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if mf, err := modfile.Parse("go.mod", []byte(readFile(t, dir, "go.mod")), nil); err != nil || mf.Go.Version != "1.24.0" || len(mf.Tool) != 1 || mf.Tool[0].Path != "github.com/magefile/mage" {
		t.Errorf("go.mod after init: %v\n%s", err, readFile(t, dir, "go.mod"))
	}
	gomod := readFile(t, dir, "go.mod")
	goOut(t, dir, offline, "mod", "tidy")
	if got := readFile(t, dir, "go.mod"); got != gomod {
		t.Errorf("go mod tidy in the application changed go.mod:\n%s\nto:\n%s", gomod, got)
	}
	goOut(t, filepath.Join(dir, "magefiles"), append(os.Environ(), "GOPROXY=off"), "vet", "-tags", "mage", ".")
}

// TestInitOldGoLine: a go line before 1.24 cannot hold a tool directive,
// and init never raises it: go.mod and go.sum stay as they were, and init
// names the command that runs mage through the build module.
func TestInitOldGoLine(t *testing.T) {
	ctx := context.Background()
	kit, err := scaffold.Running(ctx, kitRoot())
	if err != nil {
		t.Fatal(err)
	}
	dir := module(t, "example.com/old")
	gomod := "module example.com/old\n\ngo 1.22\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = scaffold.Init(ctx, dir, scaffold.WithKit(kit), scaffold.WithTemplate("github"), scaffold.WithOutput(&out),
		scaffold.WithTidy(true, "GOPROXY=off", "GOFLAGS=-mod=mod"))
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out.String())
	}
	if got := readFile(t, dir, "go.mod"); got != gomod {
		t.Errorf("init changed go.mod:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.sum")); err == nil {
		t.Errorf("init wrote go.sum")
	}
	for _, want := range []string{"go.mod, go.sum: unchanged; run mage as `go -C magefiles tool mage -w ..` (go.mod's go line predates Go 1.24", "go -C magefiles tool mage -w .. release    # builds"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("init output lacks %q:\n%s", want, out.String())
		}
	}
	if wf := readFile(t, dir, ".github/workflows/image.yml"); !strings.Contains(wf, "go -C magefiles tool mage -w .. release") {
		t.Errorf("the workflow does not run mage through the build module:\n%s", wf)
	}
}

// TestInitVendoredSeveralMains runs init on testdata/verpkg: vendor/, two
// mains, a Go 1.24 go line. go.mod, go.sum and vendor/ must stay byte for
// byte as they were, and the magefile must configure one image per main.
func TestInitVendoredSeveralMains(t *testing.T) {
	ctx := context.Background()
	kit, err := scaffold.Running(ctx, kitRoot())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "verpkg")
	if err := testrepo.CopyTree(filepath.Join(testrepo.TestdataDir(), "verpkg"), dir); err != nil {
		t.Fatal(err)
	}
	before := treeDigest(t, dir, "go.mod", "go.sum", "vendor")
	var out bytes.Buffer
	err = scaffold.Init(ctx, dir, scaffold.WithKit(kit), scaffold.WithTemplate("gitlab"), scaffold.WithOutput(&out),
		scaffold.WithTidy(true, "GOPROXY=off", "GOFLAGS=-mod=mod"))
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out.String())
	}
	if after := treeDigest(t, dir, "go.mod", "go.sum", "vendor"); after != before {
		t.Errorf("init changed go.mod, go.sum or vendor/ of a vendored module:\n%s", out.String())
	}
	for _, want := range []string{"images: verpkg (from ./cmd/verpkg), verpkgd (from ./cmd/verpkgd)", "go.mod, go.sum, vendor/: unchanged", "go -C magefiles tool mage -w .. release"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("init output lacks %q:\n%s", want, out.String())
		}
	}
	mage := readFile(t, dir, "magefiles/magefile.go")
	for _, want := range []string{`Main:      "./cmd/verpkg"`, `Main:      "./cmd/verpkgd"`, "go -C magefiles tool mage -w .. release"} {
		if !strings.Contains(mage, want) {
			t.Errorf("magefile lacks %q:\n%s", want, mage)
		}
	}
}

// treeDigest hashes the named files and directories under dir.
func treeDigest(t *testing.T, dir string, names ...string) string {
	t.Helper()
	h := sha256.New()
	for _, n := range names {
		err := filepath.WalkDir(filepath.Join(dir, n), func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%s %v\n", p, d.IsDir())
			if !d.IsDir() {
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				h.Write(b)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func goOut(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}
