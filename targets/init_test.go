package targets_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/testrepo"
	"github.com/gantrybuild/gantry/targets/scaffold"
)

// TestInitThenRelease runs `go tool mage init <dir>` from this clone on a
// fresh module, then `go tool mage release` there, offline (the new go.mod
// replaces the kit with this checkout).
func TestInitThenRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two magefile binaries")
	}
	dir := filepath.Join(t.TempDir(), "fresh")
	if err := testrepo.CopyTree(filepath.Join(testrepo.TestdataDir(), "plain"), dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module github.com/acme/fresh\n\ngo 1.26.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	offline := []string{"GOPROXY=off", "GOFLAGS=-mod=mod"}
	buildList := func() string {
		cmd := exec.Command("go", "list", "-m", "all")
		cmd.Dir, cmd.Env = dir, append(os.Environ(), offline...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -m all: %v", err)
		}
		return string(out)
	}
	before := buildList()
	out, err := mage(t, kitRoot(), append(offline, "GANTRY_TEMPLATE=github-split"), "init", dir)
	if err != nil {
		t.Fatalf("mage init: %v\n%s", err, out)
	}
	for _, want := range []string{"wrote magefiles/magefile.go", "wrote magefiles/gantry.go", "wrote magefiles/go.mod", "wrote .github/workflows/image.yml", "replaces github.com/gantrybuild/gantry with the local clone " + kitRoot(), "go.mod: gained only mage's tool directive", "go tool mage release"} {
		if !strings.Contains(out, want) {
			t.Errorf("mage init output lacks %q:\n%s", want, out)
		}
	}
	// The application's build list gains mage's module, which requires
	// nothing, and nothing else: not Gantry, not a version of anything.
	after := buildList()
	var added []string
	for _, l := range strings.Fields(strings.ReplaceAll(after, " ", "@")) {
		if !strings.Contains("\n"+strings.ReplaceAll(before, " ", "@"), "\n"+l+"\n") {
			added = append(added, l)
		}
	}
	if len(added) != 1 || !strings.HasPrefix(added[0], "github.com/magefile/mage@v") || len(strings.Split(after, "\n")) != len(strings.Split(before, "\n"))+1 {
		t.Errorf("the application's build list changed beyond mage:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if gomod := readFile(t, dir, "go.mod"); !strings.Contains(gomod, "go 1.26.0\n") || strings.Contains(gomod, "gantry") {
		t.Errorf("go.mod after init:\n%s", gomod)
	}
	if out, err := mage(t, kitRoot(), offline, "init", dir); err == nil || !strings.Contains(out, "refusing to overwrite") {
		t.Errorf("a second mage init did not refuse: %v\n%s", err, out)
	}
	testrepo.Init(t, dir, "fresh")

	// The one command, in the application's root; its help fits 100
	// columns, header included.
	out, err = mage(t, dir, nil, "-l")
	if err != nil {
		t.Fatalf("go tool mage -l after init: %v\n%s", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(line); n >= 100 {
			t.Errorf("go tool mage -l line is %d columns: %q", n, line)
		}
	}
	if !strings.Contains(out, "  release ") || strings.Contains(out, "  init ") {
		t.Errorf("go tool mage -l in a consumer lists init or lacks release:\n%s", out)
	}
	out, err = mage(t, dir, nil, "release")
	if err != nil {
		t.Fatalf("go tool mage release after init: %v\n%s", err, out)
	}
	for _, want := range []string{"linux/amd64", "linux/arm64", "dist/oci/fresh"} {
		if !strings.Contains(out, want) {
			t.Errorf("release output lacks %q:\n%s", want, out)
		}
	}
	ocitest.ValidateLayout(t, filepath.Join(dir, "dist", "oci", "fresh"))

	// After an upgrade of Gantry the generated targets are another
	// version's: the engine says so, and gantry-init -targets refreshes
	// them, from the version the build module pins.
	const stale = "magefiles/gantry.go is not what this engine's version of Gantry generates"
	if strings.Contains(out, stale) {
		t.Errorf("release warned about this version's own targets:\n%s", out)
	}
	gantryGo := filepath.Join(dir, "magefiles", "gantry.go")
	current, err := os.ReadFile(gantryGo)
	if err != nil {
		t.Fatal(err)
	}
	older := strings.Replace(string(current), "// Compile every image", "// Compile each image", 1)
	if err := os.WriteFile(gantryGo, []byte(older), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := mage(t, dir, nil, "config"); err != nil || !strings.Contains(out, stale) || !strings.Contains(out, scaffold.RefreshCommand) {
		t.Errorf("go tool mage config with another version's targets: %v, no line saying so with %q:\n%s", err, scaffold.RefreshCommand, out)
	}
	refresh := exec.Command("sh", "-c", scaffold.RefreshCommand)
	refresh.Dir = dir
	if out, err := refresh.CombinedOutput(); err != nil || !strings.Contains(string(out), "wrote ") {
		t.Fatalf("%s: %v\n%s", scaffold.RefreshCommand, err, out)
	}
	if got, _ := os.ReadFile(gantryGo); !bytes.Equal(got, current) {
		t.Errorf("after %s, magefiles/gantry.go is not this version's targets", scaffold.RefreshCommand)
	}
	if out, err := mage(t, dir, nil, "config"); err != nil || strings.Contains(out, stale) {
		t.Errorf("after the refresh, go tool mage config: %v\n%s", err, out)
	}
}

// TestInitVendoredThenRelease adopts testdata/verpkg (vendor/, two mains, a
// Go 1.24 go line, its version in internal/version) with `go tool mage
// init` from this clone, commits and tags it, releases with the command
// init names, and checks: go.mod, go.sum and vendor/ are untouched, each
// binary has the dependency versions of a plain go build, and prints the
// git-derived version through the detected variable.
func TestInitVendoredThenRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two magefile binaries")
	}
	dir := filepath.Join(t.TempDir(), "verpkg")
	if err := testrepo.CopyTree(filepath.Join(testrepo.TestdataDir(), "verpkg"), dir); err != nil {
		t.Fatal(err)
	}
	untouched := map[string]string{}
	for _, f := range []string{"go.mod", "go.sum", "vendor/modules.txt", "vendor/github.com/opencontainers/go-digest/digest.go"} {
		untouched[f] = readFile(t, dir, f)
	}
	offline := []string{"GOPROXY=off", "GOFLAGS=-mod=mod"}
	out, err := mage(t, kitRoot(), append(offline, "GANTRY_TEMPLATE=none"), "init", dir)
	if err != nil {
		t.Fatalf("mage init: %v\n%s", err, out)
	}
	if !strings.Contains(out, "go -C magefiles tool mage -w .. release") {
		t.Errorf("init does not say how to release:\n%s", out)
	}
	r := testrepo.Init(t, dir, "verpkg")
	r.Tag(t, "v1.2.3")

	cmd := exec.Command("go", "-C", "magefiles", "tool", "mage", "-w", "..", "release")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOPROXY=off")
	b, err := cmd.CombinedOutput()
	out = string(b)
	if err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	for _, want := range []string{"inject: verpkg: version → example.com/verpkg/internal/version.Version (detected", "dist/oci/verpkg", "dist/oci/verpkgd"} {
		if !strings.Contains(out, want) {
			t.Errorf("release output lacks %q:\n%s", want, out)
		}
	}
	for f, want := range untouched {
		if got := readFile(t, dir, f); got != want {
			t.Errorf("%s changed", f)
		}
	}
	bin := filepath.Join(dir, "dist", "bin", "verpkg_linux_"+runtime.GOARCH)
	if runtime.GOOS == "linux" {
		got, err := exec.Command(bin).Output()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(got), "verpkg v1.2.3 commit="+r.Head(t)) {
			t.Errorf("%s printed %q, want verpkg v1.2.3 commit=%s…", bin, got, r.Head(t))
		}
	}
	// The same dependency versions as a plain go build of the app.
	plain := filepath.Join(t.TempDir(), "plain")
	build := exec.Command("go", "build", "-o", plain, "./cmd/verpkg")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("plain go build: %v\n%s", err, b)
	}
	if got, want := deps(t, bin), deps(t, plain); got != want {
		t.Errorf("go version -m deps differ:\ngantry:\n%s\nplain go build:\n%s", got, want)
	}
}

// deps is the dep and mod lines of `go version -m`.
func deps(t *testing.T, bin string) string {
	t.Helper()
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 0 && (f[0] == "dep" || f[0] == "mod" || f[0] == "=>") {
			keep = append(keep, strings.Join(f, " "))
		}
	}
	return strings.Join(keep, "\n")
}

func readFile(t *testing.T, dir, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
