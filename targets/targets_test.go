package targets_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/testrepo"
)

// kitRoot is the root of this repository.
func kitRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

const consumerMagefile = `//go:build mage

package main

import (
	//mage:import
	_ "github.com/gantrybuild/gantry/targets"
)
`

// consumer makes a git repository of testdata/plain that imports the kit
// from this checkout, as a user's project would.
func consumer(t *testing.T) *testrepo.Repo {
	t.Helper()
	r := testrepo.New(t, "plain", "")
	r.Write(t, "magefiles/magefile.go", consumerMagefile)
	r.Write(t, "go.mod", "module example.com/plain\n\ngo 1.26.0\n\ntool github.com/magefile/mage\n\nrequire github.com/gantrybuild/gantry v0.0.0\n\nreplace github.com/gantrybuild/gantry => "+kitRoot()+"\n")
	sum, err := os.ReadFile(filepath.Join(kitRoot(), "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	r.Write(t, "go.sum", string(sum))
	tidy := exec.Command("go", "mod", "tidy")
	tidy.Dir = r.Dir
	tidy.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
	if out, err := tidy.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy in the consumer: %v\n%s", err, out)
	}
	r.Commit(t, "use gantry")
	return r
}

// mage runs `go tool mage args...` in dir, with the GANTRY_* variables of
// the test's own environment left out (Gantry refuses ones it does not
// read, and the test says what it sets).
func mage(t *testing.T, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"tool", "mage"}, args...)...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(strings.ToUpper(kv), "GANTRY_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mageSplit runs `go tool mage args...` in dir and returns its stdout and
// stderr apart.
func mageSplit(t *testing.T, dir string, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"tool", "mage"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func TestMageInConsumerRepo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a magefile binary")
	}
	r := consumer(t)

	out, err := mage(t, r.Dir, nil, "-l")
	if err != nil {
		t.Fatalf("mage -l: %v\n%s", err, out)
	}
	for _, target := range []string{"release", "compile:all", "compile:amd64", "compile:arm64", "compile:platform", "vendor:check", "layout", "index", "sbom", "sign", "push", "verify:reproducible", "clean", "config"} {
		if !strings.Contains(out, "  "+target+" ") {
			t.Errorf("mage -l does not list %s:\n%s", target, out)
		}
	}
	// init sets Gantry up in another module from a clone of Gantry; a
	// consumer's help does not offer it. Help lines fit 100 columns.
	if strings.Contains(out, "  init ") {
		t.Errorf("mage -l in a consumer lists init:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(line); n >= 100 {
			t.Errorf("mage -l line is %d columns: %q", n, line)
		}
	}

	// An engine error's hint spells the command this repository runs mage
	// with (shared.ForUser, applied once in package targets).
	if out, err := mage(t, r.Dir, nil, "sbom"); err == nil || !strings.Contains(out, "run `go tool mage index` (or `go tool mage release`) first") {
		t.Errorf("sbom before index: %v, want the hint with the user's command:\n%s", err, out)
	}

	// What a script reads from release is the layout and the index digest,
	// and nothing else: the summary goes to stderr.
	stdout, stderr, err := mageSplit(t, r.Dir, nil, "release")
	if err != nil {
		t.Fatalf("mage release: %v\n%s", err, stderr)
	}
	if !regexp.MustCompile(`^dist/oci/plain@sha256:[0-9a-f]{64}\n$`).MatchString(stdout) {
		t.Errorf("release printed %q on stdout, want dist/oci/plain@sha256:<index digest> alone", stdout)
	}
	if !strings.Contains(stderr, "linux/arm64") {
		t.Errorf("release summary is not on stderr:\n%s", stderr)
	}

	out, err = mage(t, r.Dir, nil, "release")
	if err != nil {
		t.Fatalf("mage release: %v\n%s", err, out)
	}
	for _, want := range []string{"linux/amd64", "linux/arm64", "index", "dist/oci/plain"} {
		if !strings.Contains(out, want) {
			t.Errorf("release summary lacks %q:\n%s", want, out)
		}
	}
	ocitest.ValidateLayout(t, filepath.Join(r.Dir, "dist", "oci", "plain"))

	// A release must not find the tree dirty because of dist/, even when
	// .gitignore does not list it.
	os.Remove(filepath.Join(r.Dir, ".gitignore"))
	os.RemoveAll(filepath.Join(r.Dir, "dist"))
	r.Commit(t, "no .gitignore")
	if out, err := mage(t, r.Dir, nil, "release"); err != nil {
		t.Errorf("release with an unignored dist/: %v\n%s", err, out)
	}
	if out, err := mage(t, r.Dir, nil, "release"); err != nil {
		t.Errorf("release with an unignored dist/: %v\n%s", err, out)
	}

	out, err = mage(t, r.Dir, nil, "compile:platform", "linux/arm/v7")
	if err != nil {
		t.Fatalf("compile:platform linux/arm/v7: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(r.Dir, "dist", "bin", "plain_linux_arm_v7")); err != nil {
		t.Errorf("compile:platform linux/arm/v7 wrote no binary: %v", err)
	}

	out, err = mage(t, r.Dir, []string{"GANTRY_PLATFORMS=linux/amd65"}, "release")
	if err == nil {
		t.Fatalf("release with an invalid platform succeeded:\n%s", out)
	}
	if !strings.Contains(out, `"linux/amd65"`) || !strings.Contains(out, "linux/arm64") {
		t.Errorf("invalid platform error does not name the value and the valid ones:\n%s", out)
	}

	out, err = mage(t, r.Dir, []string{"GANTRY_BASE=scratch"}, "config")
	if err != nil {
		t.Fatalf("config: %v\n%s", err, out)
	}
	for _, want := range []string{"GANTRY_PLATFORMS", "SOURCE_DATE_EPOCH", "scratch"} {
		if !strings.Contains(out, want) {
			t.Errorf("config output lacks %q:\n%s", want, out)
		}
	}
}

// TestMain names, outside CI, the clients whose tests skipped here (cosign
// for the signing tests), with the command that runs them.
func TestMain(m *testing.M) { ocitest.Main(m) }
