package vendorcheck

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"

	"github.com/gantrybuild/gantry/targets/internal/testrepo"
)

// hello copies testdata/hello (vendored; depends on golang.org/x/mod) into
// a temp dir.
func hello(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hello")
	if err := testrepo.CopyTree(filepath.Join(testrepo.TestdataDir(), "hello"), dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

const semverGo = "vendor/golang.org/x/mod/semver/semver.go"

func TestCheckPasses(t *testing.T) {
	dir := hello(t)
	var log bytes.Buffer
	if err := Check(context.Background(), Request{Dir: dir, Log: &log}); err != nil {
		t.Fatalf("Check on an untouched copy of testdata/hello: %v", err)
	}
	for _, want := range []string{"all modules verified", "vendor/ matches go.mod and go.sum"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log %q does not say %q", log.String(), want)
		}
	}
}

func TestCheckVendorDrift(t *testing.T) {
	tests := []struct {
		name string
		edit func(t *testing.T, dir string)
		want []string // substrings of the error
	}{
		{"edited file", func(t *testing.T, dir string) {
			appendFile(t, filepath.Join(dir, semverGo), "\n// edited\n")
		}, []string{"module golang.org/x/mod differs", "changed golang.org/x/mod/semver/semver.go"}},
		{"deleted file", func(t *testing.T, dir string) {
			remove(t, filepath.Join(dir, "vendor/golang.org/x/mod/LICENSE"))
		}, []string{"module golang.org/x/mod differs", "missing golang.org/x/mod/LICENSE"}},
		{"extra file in a module", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "vendor/golang.org/x/mod/semver/extra.go"), "package semver\n")
		}, []string{"module golang.org/x/mod differs", "extra golang.org/x/mod/semver/extra.go"}},
		{"extra file outside any module", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "vendor/example.com/stray/stray.go"), "package stray\n")
		}, []string{"extra example.com/stray/stray.go"}},
		{"edited modules.txt", func(t *testing.T, dir string) {
			appendFile(t, filepath.Join(dir, "vendor/modules.txt"), "# example.com/ghost v1.0.0\n")
		}, []string{"vendor metadata differs", "changed modules.txt"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := hello(t)
			tc.edit(t, dir)
			err := Check(context.Background(), Request{Dir: dir})
			if err == nil {
				t.Fatal("Check succeeded, want an error")
			}
			for _, w := range append(tc.want, "vendor/ in "+dir, "run `go mod vendor` in "+dir) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestCheckVersionChangedWithoutRevendoring changes the required version of
// golang.org/x/mod and runs `go mod tidy` (go.mod and go.sum change, vendor/
// does not), the everyday way vendor/ drifts. The other version comes from a
// file proxy in the test, so the test needs no network.
func TestCheckVersionChangedWithoutRevendoring(t *testing.T) {
	dir := hello(t)
	env := append(os.Environ(),
		"GOPROXY=file://"+fileProxy(t, "golang.org/x/mod", "v0.41.0"),
		"GOSUMDB=off",
		"GOMODCACHE="+filepath.Join(t.TempDir(), "modcache"),
		"GOTOOLCHAIN=local",
		"GOWORK=off",
	)
	setup := append(env, "GOFLAGS=-mod=mod -modcacherw")
	goCmd(t, dir, setup, "mod", "edit", "-require=golang.org/x/mod@v0.41.0")
	goCmd(t, dir, setup, "mod", "tidy")
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(gomod), "golang.org/x/mod v0.41.0") {
		t.Fatalf("go mod edit did not change go.mod:\n%s", gomod)
	}

	err = Check(context.Background(), Request{Dir: dir, Env: env})
	if err == nil {
		t.Fatal("Check succeeded with go.mod requiring golang.org/x/mod v0.41.0 and v0.42.0 vendored, want an error")
	}
	t.Logf("Check: %v", err)
	// The module's files are the same in both versions, so only
	// modules.txt differs.
	for _, w := range []string{"vendor/ in " + dir + " does not match go.mod and go.sum", "changed modules.txt", "golang.org/x/mod is vendored at v0.42.0, go.mod requires v0.41.0", "run `go mod vendor` in " + dir} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

// fileProxy writes a GOPROXY directory serving one version of modPath whose
// files are those vendored in testdata/hello.
func fileProxy(t *testing.T, modPath, version string) string {
	t.Helper()
	src := t.TempDir()
	vendored := filepath.Join(testrepo.TestdataDir(), "hello", "vendor", filepath.FromSlash(modPath))
	if err := testrepo.CopyTree(vendored, src); err != nil {
		t.Fatal(err)
	}
	gomod := "module " + modPath + "\n\ngo 1.26.0\n"
	write(t, filepath.Join(src, "go.mod"), gomod)

	proxy := t.TempDir()
	at := filepath.Join(proxy, filepath.FromSlash(modPath), "@v")
	write(t, filepath.Join(at, "list"), version+"\n")
	write(t, filepath.Join(at, version+".info"), `{"Version":"`+version+`","Time":"2026-01-01T00:00:00Z"}`)
	write(t, filepath.Join(at, version+".mod"), gomod)
	var zbuf bytes.Buffer
	if err := modzip.CreateFromDir(&zbuf, module.Version{Path: modPath, Version: version}, src); err != nil {
		t.Fatal(err)
	}
	if _, err := zip.NewReader(bytes.NewReader(zbuf.Bytes()), int64(zbuf.Len())); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(at, version+".zip"), zbuf.String())
	return proxy
}

func TestRequireVendor(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "plain")
	if err := testrepo.CopyTree(filepath.Join(testrepo.TestdataDir(), "plain"), dir); err != nil {
		t.Fatal(err)
	}
	err := Check(context.Background(), Request{Dir: dir, RequireVendor: true, GoBin: "/nonexistent/go"})
	if err == nil {
		t.Fatal("Check with RequireVendor on a module without vendor/ succeeded, want an error")
	}
	for _, w := range []string{dir, "no vendor/ directory", "go mod vendor"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	// Without RequireVendor, a module without vendor/ only needs go mod verify.
	if err := Check(context.Background(), Request{Dir: dir}); err != nil {
		t.Errorf("Check without RequireVendor: %v", err)
	}
}

func TestCheckMissingGo(t *testing.T) {
	err := Check(context.Background(), Request{Dir: hello(t), GoBin: "/nonexistent/go"})
	if err == nil || !strings.Contains(err.Error(), "go mod verify") || !strings.Contains(err.Error(), "/nonexistent/go") {
		t.Errorf("Check with a missing go command: err = %v, want one naming go mod verify and the command", err)
	}
}

func TestModuleOf(t *testing.T) {
	modules := []string{"golang.org/x/mod", "golang.org/x/mod/sumdb", "example.com/a", "example.com/ab"}
	tests := []struct{ path, want string }{
		{"golang.org/x/mod/semver/semver.go", "golang.org/x/mod"},
		{"golang.org/x/mod/LICENSE", "golang.org/x/mod"},
		{"golang.org/x/mod/sumdb/note/note.go", "golang.org/x/mod/sumdb"}, // longest prefix wins
		{"golang.org/x/mod", "golang.org/x/mod"},
		{"golang.org/x/modfile/x.go", ""}, // a prefix of the string, not of the path
		{"example.com/ab/x.go", "example.com/ab"},
		{"example.com/a/x.go", "example.com/a"},
		{"modules.txt", ""},
		{"example.com/other/x.go", ""},
	}
	for _, tt := range tests {
		if got := moduleOf(tt.path, modules); got != tt.want {
			t.Errorf("moduleOf(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	modules := []string{"golang.org/x/mod", "example.com/b"}
	tests := []struct {
		name  string
		diffs []diff
		want  string
	}{
		{"one module", []diff{{"golang.org/x/mod/semver/semver.go", "changed"}},
			"module golang.org/x/mod differs (changed golang.org/x/mod/semver/semver.go)"},
		{"modules in order of first difference",
			[]diff{{"example.com/b/b.go", "missing"}, {"golang.org/x/mod/LICENSE", "extra"}, {"example.com/b/c.go", "changed"}},
			"module example.com/b differs (missing example.com/b/b.go, changed example.com/b/c.go); module golang.org/x/mod differs (extra golang.org/x/mod/LICENSE)"},
		{"metadata", []diff{{"modules.txt", "changed"}},
			"vendor metadata differs (changed modules.txt)"},
		{"more than three files", []diff{
			{"example.com/b/1.go", "changed"}, {"example.com/b/2.go", "changed"}, {"example.com/b/3.go", "changed"},
			{"example.com/b/4.go", "changed"}, {"example.com/b/5.go", "missing"},
		}, "module example.com/b differs (changed example.com/b/1.go, changed example.com/b/2.go, changed example.com/b/3.go, and 2 more)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := describe(tc.diffs, modules); got != tc.want {
				t.Errorf("describe =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestCompareTrees(t *testing.T) {
	have, want := t.TempDir(), t.TempDir()
	write(t, filepath.Join(have, "same/a.go"), "a")
	write(t, filepath.Join(want, "same/a.go"), "a")
	write(t, filepath.Join(have, "m/changed.go"), "old")
	write(t, filepath.Join(want, "m/changed.go"), "new")
	write(t, filepath.Join(have, "m/extra.go"), "x")
	write(t, filepath.Join(want, "m/missing.go"), "y")
	got, err := compareTrees(have, want)
	if err != nil {
		t.Fatal(err)
	}
	wantDiffs := []diff{{"m/changed.go", "changed"}, {"m/extra.go", "extra"}, {"m/missing.go", "missing"}}
	if diff := cmp.Diff(wantDiffs, got, cmp.AllowUnexported(diff{})); diff != "" {
		t.Errorf("compareTrees mismatch (-want +got):\n%s", diff)
	}
}

func TestVerifyAdvice(t *testing.T) {
	for _, tc := range []struct{ out, want string }{
		{"golang.org/x/mod v0.42.0: dir has been modified (/m/golang.org/x/mod@v0.42.0)", "go clean -modcache"},
		{"go: example.com/a@v1.0.0: missing go.sum entry for go.mod file; to add it:", "go mod tidy"},
		{"go: updates to go.mod needed; to update it:\n\tgo mod tidy", "go mod tidy"},
		{"verifying golang.org/x/mod@v0.42.0: checksum mismatch", "go.sum was edited by hand"},
		{"something else", "go clean -modcache"},
	} {
		if got := verifyAdvice(tc.out); !strings.Contains(got, tc.want) {
			t.Errorf("verifyAdvice(%q) = %q, want it to say %q", tc.out, got, tc.want)
		}
	}
}

func TestModuleChanges(t *testing.T) {
	have := map[string]string{"golang.org/x/mod": "v0.42.0", "example.com/gone": "v1.0.0", "example.com/a": "v1.0.0 => ./a", "example.com/same": "v2.0.0"}
	want := map[string]string{"golang.org/x/mod": "v0.41.0", "example.com/new": "v0.1.0", "example.com/a": "v1.0.0 => ./b", "example.com/same": "v2.0.0"}
	got := moduleChanges(have, want)
	wantChanges := []string{
		"example.com/a is vendored at v1.0.0 => ./a, go.mod requires v1.0.0 => ./b",
		"example.com/new v0.1.0 is required but not vendored",
		"golang.org/x/mod is vendored at v0.42.0, go.mod requires v0.41.0",
		"example.com/gone v1.0.0 is vendored but no longer required",
	}
	if diff := cmp.Diff(wantChanges, got); diff != "" {
		t.Errorf("moduleChanges mismatch (-want +got):\n%s", diff)
	}
	if got := moduleChanges(have, have); len(got) != 0 {
		t.Errorf("moduleChanges of identical lists = %v, want none", got)
	}
	p := filepath.Join(t.TempDir(), "modules.txt")
	write(t, p, "# golang.org/x/mod v0.42.0\n## explicit; go 1.26.0\ngolang.org/x/mod/semver\n# example.com/a v1.0.0 => ./a\n## explicit\n")
	if diff := cmp.Diff(map[string]string{"golang.org/x/mod": "v0.42.0", "example.com/a": "v1.0.0 => ./a"}, moduleVersions(p)); diff != "" {
		t.Errorf("moduleVersions mismatch (-want +got):\n%s", diff)
	}
}

func TestReadModules(t *testing.T) {
	p := filepath.Join(t.TempDir(), "modules.txt")
	write(t, p, "# golang.org/x/mod v0.42.0\n## explicit; go 1.26.0\ngolang.org/x/mod/semver\n# example.com/a v1.0.0 => ./a\n## explicit\n")
	if diff := cmp.Diff([]string{"golang.org/x/mod", "example.com/a"}, readModules(p)); diff != "" {
		t.Errorf("readModules mismatch (-want +got):\n%s", diff)
	}
}

func goCmd(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, p, content string) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	write(t, p, string(data)+content)
}

func remove(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}
