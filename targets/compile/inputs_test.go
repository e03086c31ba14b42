package compile

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/internal/ocitest"
)

// shortcutFixture is a module with a main package, a local replacement and
// Run's request for it, with go build counted.
type shortcutFixture struct {
	t      *testing.T
	root   string // holds the module (app) and the replacement (lib)
	dir    string
	req    Request
	builds func() int
}

func newShortcutFixture(t *testing.T) *shortcutFixture {
	if testing.Short() {
		t.Skip("-short: runs go build of a module again and again")
	}
	t.Setenv("GOFLAGS", "")
	racy := racyWindow
	racyWindow = 0 // the files are written by the test, just before each Run
	t.Cleanup(func() { racyWindow = racy })
	f := &shortcutFixture{t: t, root: t.TempDir()}
	f.dir = filepath.Join(f.root, "app")
	f.write(filepath.Join(f.dir, "go.mod"), "module example.com/hello\n\ngo 1.26\n\nrequire example.com/lib v0.0.0\n\nreplace example.com/lib => ../lib\n")
	f.write(filepath.Join(f.dir, "main.go"), "package main\n\nimport \"example.com/lib\"\n\nfunc main() { println(lib.Greeting) }\n")
	f.write(filepath.Join(f.root, "lib", "go.mod"), "module example.com/lib\n\ngo 1.26\n")
	f.write(filepath.Join(f.root, "lib", "lib.go"), "package lib\n\nconst Greeting = \"hello\"\n")
	goBin, builds := countingGo(t)
	dist := filepath.Join(f.dir, "dist")
	f.builds = builds
	f.req = Request{
		Dir: f.dir, Package: ".", Name: "hello", OutDir: filepath.Join(dist, "bin"),
		Platforms: []v1.Platform{amd64},
		GoBin:     goBin,
		StampDir:  filepath.Join(dist, "cache", "compile"),
		Exclude:   []string{dist},
		Env:       os.Environ(),
	}
	return f
}

func (f *shortcutFixture) write(name, content string) {
	f.t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// run runs Run after change, and checks whether go build ran.
func (f *shortcutFixture) run(name string, wantBuild bool, change func(*Request)) string {
	var log bytes.Buffer
	f.t.Run(name, func(t *testing.T) {
		r := f.req
		if change != nil {
			change(&r)
		}
		f.req = r
		r.Log = &log
		before := f.builds()
		if _, err := Run(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		if got := f.builds() - before; got != map[bool]int{true: 1, false: 0}[wantBuild] {
			t.Errorf("go build ran %d times, want build=%v; log:\n%s", got, wantBuild, log.String())
		}
		if !wantBuild && !strings.Contains(log.String(), "up to date") {
			t.Errorf("log does not say the binary is up to date:\n%s", log.String())
		}
	})
	return log.String()
}

// profile returns a CPU profile fit for -pgo (each one differs: it holds
// its time). Tests write few distinct profiles: go build compiles the
// standard library again for each.
func profile(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	if err := pprof.StartCPUProfile(&b); err != nil {
		t.Fatal(err)
	}
	x := 0
	for start := time.Now(); time.Since(start) < 20*time.Millisecond; {
		x++
	}
	pprof.StopCPUProfile()
	return b.String()
}

// withEnv returns the request's environment with kv set.
func withEnv(r *Request, kv ...string) {
	r.Env = append(append([]string(nil), os.Environ()...), kv...)
}

// TestShortcutSettingFiles: a file a go setting names is an input, though
// it lies outside the module: changing it makes go build run.
func TestShortcutSettingFiles(t *testing.T) {
	f := newShortcutFixture(t)
	outside := t.TempDir()
	prof := filepath.Join(outside, "cpu.pprof")
	a, b := profile(t), profile(t)
	f.write(prof, a)

	f.run("pgo: first build", true, func(r *Request) { withEnv(r, "GOFLAGS=-pgo="+prof) })
	f.run("pgo: unchanged", false, nil)
	f.run("pgo: profile changed", true, func(*Request) { f.write(prof, b) })
	f.run("pgo: unchanged again", false, nil)

	// The same through go env -w (a GOENV file), as `go env` reports it.
	goenvFile := filepath.Join(outside, "goenv")
	f.write(goenvFile, "GOFLAGS=-pgo="+prof+"\n")
	f.run("pgo from go env -w: first build", true, func(r *Request) { withEnv(r, "GOENV="+goenvFile) })
	f.run("pgo from go env -w: unchanged", false, nil)
	f.run("pgo from go env -w: profile changed", true, func(*Request) { f.write(prof, a) })

	// A relative -pgo is relative to the module directory.
	rel := filepath.Join(f.root, "rel.pprof")
	f.run("relative pgo", true, func(r *Request) {
		f.write(rel, b)
		withEnv(r, "GOFLAGS=-pgo=../rel.pprof")
	})
	f.run("relative pgo changed", true, func(*Request) { f.write(rel, a) })

	// -modfile: the other go.mod, its go.sum, and its local replacements.
	alt := filepath.Join(outside, "alt.mod")
	f.write(alt, "module example.com/hello\n\ngo 1.26\n\nrequire example.com/lib v0.0.0\n\nreplace example.com/lib => "+filepath.Join(outside, "lib2")+"\n")
	f.write(filepath.Join(outside, "lib2", "go.mod"), "module example.com/lib\n\ngo 1.26\n")
	f.write(filepath.Join(outside, "lib2", "lib.go"), "package lib\n\nconst Greeting = \"two\"\n")
	f.run("modfile: first build", true, func(r *Request) { withEnv(r, "GOFLAGS=-modfile="+alt) })
	f.run("modfile: unchanged", false, nil)
	f.run("modfile: its replacement edited", true, func(*Request) {
		f.write(filepath.Join(outside, "lib2", "lib.go"), "package lib\n\nconst Greeting = \"three\"\n")
	})
	f.run("modfile: go.sum beside it written", true, func(*Request) { f.write(filepath.Join(outside, "alt.sum"), "") })
	f.run("modfile: edited", true, func(*Request) {
		f.write(alt, "module example.com/hello\n\ngo 1.26\n\nrequire example.com/lib v0.0.0\n\nreplace example.com/lib => ../lib\n")
	})
	f.run("modfile: unchanged again", false, nil)
}

// TestShortcutOddFiles: files go build does not read never turn the
// shortcut off, and a symlink counts by what it points to.
func TestShortcutOddFiles(t *testing.T) {
	f := newShortcutFixture(t)
	f.run("first build", true, nil)

	f.run("dangling symlinks", true, func(*Request) {
		for _, l := range []struct{ target, link string }{
			{"/non/existing/file", "testdata/gone"},
			{`C:/Users/someone/file`, "testdata/windows"},
			{"notes-target.txt", "notes.txt"},
			{"self", "self"},
		} {
			p := filepath.Join(f.dir, l.link)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.Symlink(l.target, p); err != nil {
				t.Fatal(err)
			}
		}
	})
	f.run("dangling symlinks: unchanged", false, nil)

	f.run("FIFO and socket", true, func(*Request) {
		if err := syscall.Mkfifo(filepath.Join(f.dir, "testdata", "fifo"), 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("unix", filepath.Join(f.dir, "testdata", "sock"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
	})
	f.run("FIFO and socket: unchanged", false, nil)

	f.run("symlinked directory under testdata", true, func(*Request) {
		if err := os.Symlink("/", filepath.Join(f.dir, "testdata", "root")); err != nil {
			t.Fatal(err)
		}
	})
	f.run("symlinked directory under testdata: unchanged", false, nil)

	shared := filepath.Join(t.TempDir(), "shared")
	f.run("symlinked package directory", true, func(*Request) {
		f.write(filepath.Join(shared, "x.go"), "package shared\n\nconst X = 1\n")
		if err := os.Symlink(shared, filepath.Join(f.dir, "shared")); err != nil {
			t.Fatal(err)
		}
		f.write(filepath.Join(f.dir, "main.go"), "package main\n\nimport (\n\t\"example.com/hello/shared\"\n\t\"example.com/lib\"\n)\n\nfunc main() { println(lib.Greeting, shared.X) }\n")
	})
	f.run("symlinked package directory: unchanged", false, nil)
	f.run("file under the symlinked directory edited", true, func(*Request) {
		f.write(filepath.Join(shared, "x.go"), "package shared\n\nconst X = 2\n")
	})
	f.run("loop through a symlink", true, func(*Request) {
		if err := os.Symlink("..", filepath.Join(shared, "up")); err != nil {
			t.Fatal(err)
		}
	})
	f.run("loop through a symlink: unchanged", false, nil)

	f.run("dangling symlink's target appears", true, func(*Request) {
		f.write(filepath.Join(f.dir, "notes-target.txt"), "notes")
	})
	f.run("then unchanged", false, nil)

}

// TestShortcutUnreadableDirs: directories the walk may not read (not
// listed, or listed but not entered), in testdata and in a directory no
// package lives in, never turn the shortcut off; making one readable counts
// as a change. As root, it runs in a child without the capabilities that
// let root read everything.
func TestShortcutUnreadableDirs(t *testing.T) {
	if ocitest.ObeyPermissionsElsewhere(t) {
		return
	}
	for _, tc := range []struct {
		name string
		dir  string      // relative to the module
		mode os.FileMode // what the test sets it to
	}{
		{"not listable, in testdata", "testdata/private", 0},
		{"listable, not enterable, in testdata", "testdata/listonly", 0o600},
		{"not listable, no package", "data/private", 0o300},
		{"listable, not enterable, no package", "data/listonly", 0o400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newShortcutFixture(t)
			p := filepath.Join(f.dir, tc.dir)
			f.write(filepath.Join(p, "notes.txt"), "notes")
			f.write(filepath.Join(p, "sub", "x.go"), "package sub\n")
			f.run("first build", true, nil)
			var log string
			log += f.run("made unreadable", true, func(*Request) {
				if err := os.Chmod(p, tc.mode); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.Chmod(p, 0o755) })
			})
			log += f.run("unchanged", false, nil)
			if strings.Contains(log, "shortcut is off") {
				t.Errorf("the shortcut was off:\n%s", log)
			}
			f.run("readable again", true, func(*Request) {
				if err := os.Chmod(p, 0o755); err != nil {
					t.Fatal(err)
				}
			})
			f.run("readable: unchanged", false, nil)
		})
	}
}

// TestShortcutOffSaysWhy: when the shortcut is off, one line says why, once.
func TestShortcutOffSaysWhy(t *testing.T) {
	f := newShortcutFixture(t)
	work := filepath.Join(f.root, "go.work")
	f.write(work, "go 1.26\n\nuse (\n\t./app\n\t./lib\n)\n")
	first := f.run("workspace", true, func(r *Request) { withEnv(r, "GOWORK="+work) })
	if want := "the up-to-date shortcut is off: go.work workspace " + work; strings.Count(first, want) != 1 {
		t.Errorf("log does not say once %q:\n%s", want, first)
	}
	if again := f.run("workspace again", true, nil); strings.Contains(again, "shortcut is off") {
		t.Errorf("the reason was logged again in the same process:\n%s", again)
	}
}

func TestSettingFiles(t *testing.T) {
	for _, tc := range []struct {
		goflags string
		files   []string
		modfile string
	}{
		{"", nil, ""},
		{"-mod=mod -pgo=auto", nil, ""},
		{"-pgo=off", nil, ""},
		{"-pgo=prof/cpu.pprof", []string{"/m/prof/cpu.pprof"}, ""},
		{"--pgo=/p/cpu.pprof -trimpath", []string{"/p/cpu.pprof"}, ""},
		{"-modfile=../alt.mod", []string{"/alt.mod", "/alt.sum"}, "/alt.mod"},
		{"'-pgo=a b.pprof'", []string{"/m/a b.pprof"}, ""},
	} {
		files, modfile, err := settingFiles("/m", tc.goflags)
		if err != nil {
			t.Errorf("settingFiles(%q): %v", tc.goflags, err)
			continue
		}
		if strings.Join(files, "|") != strings.Join(tc.files, "|") || modfile != tc.modfile {
			t.Errorf("settingFiles(%q) = %q, %q; want %q, %q", tc.goflags, files, modfile, tc.files, tc.modfile)
		}
	}
}
