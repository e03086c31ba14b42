package vendorcheck

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/testrepo"
)

// countingGo writes a go command that records each `go mod graph` (the
// build list of the module check) and `go mod vendor` it runs in a file,
// then runs the real go.
func countingGo(t *testing.T) (goBin string, calls func() []string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the counting go command is a shell script")
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	goBin = filepath.Join(dir, "go")
	script := "#!/bin/sh\ncase \"$1 $2\" in\n\"mod graph\") echo mod-graph >> " + log + ";;\n\"mod vendor\") echo mod-vendor >> " + log + ";;\nesac\nexec go \"$@\"\n"
	if err := os.WriteFile(goBin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return goBin, func() []string {
		b, _ := os.ReadFile(log)
		os.Remove(log)
		return strings.Fields(string(b))
	}
}

// TestCheckCache: with CacheDir, a check that passed runs again only when
// something its outcome depends on changed.
func TestCheckCache(t *testing.T) {
	dir := hello(t)
	goBin, calls := countingGo(t)
	req := Request{Dir: dir, GoBin: goBin, CacheDir: t.TempDir()}
	check := func() (string, error) { return checkLogged(req) }
	main := filepath.Join(dir, "main.go")
	orig, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name    string
		edit    func()
		want    []string // go commands run
		wantErr string
	}{
		{"first run", func() {}, []string{"mod-graph", "mod-vendor"}, ""},
		{"unchanged", func() {}, nil, ""},
		{"edited function body", func() {
			write(t, main, strings.Replace(string(orig), `kind := "development build"`, `kind := "dev build"`, 1))
		}, nil, ""},
		{"new import", func() {
			src := strings.Replace(string(orig), `"golang.org/x/mod/semver"`, "\"golang.org/x/mod/semver\"\n\t_ \"golang.org/x/mod/module\"", 1)
			write(t, main, src)
		}, []string{"mod-vendor"}, "golang.org/x/mod"},
		{"import removed again", func() { write(t, main, string(orig)) }, nil, ""},
		{"odd files the go command does not read", func() { addOddFiles(t, dir) }, nil, ""},
		{"edited vendored file", func() {
			appendFile(t, filepath.Join(dir, semverGo), "\n// edited\n")
		}, []string{"mod-vendor"}, "changed golang.org/x/mod/semver/semver.go"},
		{"edit still there", func() {}, []string{"mod-vendor"}, "changed golang.org/x/mod/semver/semver.go"},
		{"go.sum changed", func() {
			os.WriteFile(filepath.Join(dir, semverGo), mustRead(t, filepath.Join(testdataHello(), semverGo)), 0o644)
			appendFile(t, filepath.Join(dir, "go.sum"), "\n")
		}, []string{"mod-graph", "mod-vendor"}, ""},
	}
	for _, s := range steps {
		s.edit()
		log, err := check()
		switch {
		case s.wantErr == "" && err != nil:
			t.Errorf("%s: Check: %v", s.name, err)
		case s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)):
			t.Errorf("%s: Check error = %v, want one mentioning %q", s.name, err, s.wantErr)
		}
		if got := calls(); strings.Join(got, " ") != strings.Join(s.want, " ") {
			t.Errorf("%s: ran go %q, want %q (log: %q)", s.name, got, s.want, log)
		}
		if s.want == nil && !strings.Contains(log, "(cached") {
			t.Errorf("%s: log %q does not say the result was cached", s.name, log)
		}
	}
}

func TestReplacesWithDir(t *testing.T) {
	for _, tc := range []struct {
		gomod string
		want  bool
	}{
		{"module m\n", false},
		{"module m\nreplace a.com/x => b.com/x v1.0.0\n", false},
		{"module m\nreplace a.com/x => ../x\n", true},
		{"module m\nreplace a.com/x v1.2.0 => ./x\n", true},
		{"not a go.mod {", true},
	} {
		if got := replacesWithDir([]byte(tc.gomod)); got != tc.want {
			t.Errorf("replacesWithDir(%q) = %v, want %v", tc.gomod, got, tc.want)
		}
	}
}

func testdataHello() string {
	return filepath.Join(testrepo.TestdataDir(), "hello")
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// addOddFiles adds what real repositories hold and the go command does not
// read: dangling symlinks (in testdata and in a directory with no
// package), a FIFO and a unix socket.
func addOddFiles(t *testing.T, dir string) {
	t.Helper()
	for link, target := range map[string]string{"testdata/gone": "/non/existing/file", "testdata/windows": "C:/Users/someone/file.txt", "docs/moved": "../nowhere"} {
		p := filepath.Join(dir, link)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(dir, "dev.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
}

// TestCheckCacheUnreadable: a directory the go command does not read
// (under testdata, _ or .) that may not be read leaves the remembered check
// on; one it reads fails `go mod vendor`, and the log says why the check
// was not remembered. As root, it runs in a child that obeys permissions.
func TestCheckCacheUnreadable(t *testing.T) {
	if ocitest.ObeyPermissionsElsewhere(t) {
		return
	}
	dir := hello(t)
	goBin, calls := countingGo(t)
	req := Request{Dir: dir, GoBin: goBin, CacheDir: t.TempDir()}
	check := func() (string, error) { return checkLogged(req) }
	lock := func(rel string, mode os.FileMode) {
		p := filepath.Join(dir, rel)
		write(t, filepath.Join(p, "x.go"), "package x\n\nimport _ \"example.com/not/vendored\"\n")
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(p, 0o755) })
	}
	if _, err := check(); err != nil {
		t.Fatal(err)
	}
	calls()
	lock("testdata/private", 0)
	lock("testdata/listonly", 0o600)
	lock(".cache/private", 0)
	lock("_scratch/listonly", 0o400)
	log, err := check()
	if err != nil {
		t.Fatalf("Check with unreadable ignored directories: %v", err)
	}
	if got := calls(); len(got) != 0 || !strings.Contains(log, "(cached") {
		t.Errorf("with unreadable ignored directories: ran go %q, log %q; want the remembered result", got, log)
	}
	lock("pkg/private", 0)
	log, err = check()
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("Check with an unreadable package directory: error %v, want go mod vendor's permission denied", err)
	}
	if want := "remembering a passed check is off: open " + filepath.Join(dir, "pkg", "private"); !strings.Contains(log, want) {
		t.Errorf("log %q does not say %q", log, want)
	}
}

// checkLogged runs Check for req and returns what it logged.
func checkLogged(req Request) (string, error) {
	var log bytes.Buffer
	req.Log = &log
	err := Check(context.Background(), req)
	return log.String(), err
}
