package vendorcheck

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/modfile"
)

// TestModuleCacheTampering: a file of a dependency edited in the module
// cache after a passing check fails the next check, naming the module,
// however the edit hides (same size, mtime put back), and whether the
// directory or the zip was edited; an unchanged cache is not hashed again.
func TestModuleCacheTampering(t *testing.T) {
	defer func(w time.Duration) { modSumRacyWindow = w }(modSumRacyWindow)
	modSumRacyWindow = 0

	dir := hello(t)
	modcache := filepath.Join(t.TempDir(), "modcache")
	env := append(os.Environ(),
		"GOPROXY=file://"+fileProxy(t, "golang.org/x/mod", "v0.41.0"),
		"GOSUMDB=off",
		"GOMODCACHE="+modcache,
		"GOTOOLCHAIN=local",
		"GOWORK=off",
	)
	setup := append(env, "GOFLAGS=-mod=mod")
	goCmd(t, dir, setup, "mod", "edit", "-require=golang.org/x/mod@v0.41.0")
	goCmd(t, dir, setup, "mod", "tidy")
	goCmd(t, dir, setup, "mod", "vendor")
	goCmd(t, dir, setup, "mod", "download")

	req := Request{Dir: dir, Env: env, CacheDir: t.TempDir()}
	check := func() (string, error) { return checkLogged(req) }
	if log, err := check(); err != nil || !strings.Contains(log, "all modules verified (1 in the module cache: 1 hashed)") {
		t.Fatalf("first check: %v, log %q; want 1 module verified and hashed", err, log)
	}
	if log, err := check(); err != nil || !strings.Contains(log, "all modules verified (1 in the module cache: 0 hashed, 1 unchanged") {
		t.Fatalf("second check: %v, log %q; want the unchanged module not hashed again", err, log)
	}

	semver := filepath.Join(modcache, "golang.org", "x", "mod@v0.41.0", "semver", "semver.go")
	zipFile := filepath.Join(modcache, "cache", "download", "golang.org", "x", "mod", "@v", "v0.41.0.zip")
	tamper := func(t *testing.T, file string, edit func([]byte) []byte) {
		t.Helper()
		orig, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(file, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			os.Chmod(file, 0o644)
			os.WriteFile(file, orig, 0o644)
			os.Chmod(file, fi.Mode())
		})
		if err := os.WriteFile(file, edit(bytes.Clone(orig)), 0o644); err != nil {
			t.Fatal(err)
		}
		// Hide the edit as well as a program can: mode and mtime put back.
		os.Chmod(file, fi.Mode())
		os.Chtimes(file, fi.ModTime(), fi.ModTime())
	}
	sameSize := func(b []byte) []byte { return bytes.Replace(b, []byte("Compare"), []byte("Cumpare"), 1) }

	t.Run("dir", func(t *testing.T) {
		tamper(t, semver, sameSize)
		_, err := check()
		if err == nil {
			t.Fatal("check after editing semver.go in the module cache succeeded, want an error")
		}
		for _, w := range []string{"golang.org/x/mod v0.41.0: dir has been modified", "go clean -modcache"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not mention %q", err, w)
			}
		}
		if _, err := check(); err == nil {
			t.Error("the second check after the edit succeeded, want the same error")
		}
	})
	if log, err := check(); err != nil || !strings.Contains(log, ": 1 hashed)") {
		t.Fatalf("check after the edit was undone: %v, log %q; want the module hashed and verified", err, log)
	}
	t.Run("zip", func(t *testing.T) {
		tamper(t, zipFile, func(b []byte) []byte { return append(b[:len(b)-1], b[len(b)-1]^1) })
		_, err := check()
		if err == nil || !strings.Contains(err.Error(), "golang.org/x/mod v0.41.0: zip") {
			t.Errorf("check after editing the module's zip: %v, want an error naming the module's zip", err)
		}
	})
	t.Run("added file", func(t *testing.T) {
		extra := filepath.Join(filepath.Dir(semver), "extra.go")
		os.Chmod(filepath.Dir(semver), 0o755)
		if err := os.WriteFile(extra, []byte("package semver\n"), 0o444); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(extra)
		if _, err := check(); err == nil || !strings.Contains(err.Error(), "dir has been modified") {
			t.Errorf("check after adding a file to the module: %v, want an error", err)
		}
	})
}

func TestSelectBuildList(t *testing.T) {
	graph := "example.com/m example.com/a@v1.0.0\n" +
		"example.com/m go@1.26.0\n" +
		"go@1.26.0 toolchain@go1.26.0\n" +
		"example.com/m example.com/c@v1.0.0\n" +
		"example.com/m example.com/d@v1.0.0\n" +
		"example.com/a@v1.0.0 example.com/d@v1.2.0\n" +
		"example.com/a@v1.0.0 example.com/e@v0.1.0-20260101000000-abcdefabcdef\n" +
		"example.com/c@v1.0.0 example.com/e@v0.0.9\n"
	gomod := "module example.com/m\n" +
		"replace example.com/c => ../c\n" + // by a directory: not in the module cache
		"replace example.com/d => example.com/dd v2.0.0\n" +
		"replace example.com/d v1.2.0 => example.com/d12 v1.2.1\n" // the versioned one wins
	f, err := modfile.Parse("go.mod", []byte(gomod), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := selectBuildList([]byte(graph), f.Replace)
	want := []string{"example.com/a@v1.0.0", "example.com/d12@v1.2.1", "example.com/e@v0.1.0-20260101000000-abcdefabcdef"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("selectBuildList (-want +got):\n%s", diff)
	}
}
