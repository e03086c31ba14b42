package vendorcheck

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

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
	check := func() (string, error) {
		var log bytes.Buffer
		r := req
		r.Log = &log
		err := Check(context.Background(), r)
		return log.String(), err
	}
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
