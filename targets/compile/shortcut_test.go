package compile

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// countingGo writes a go command that logs each subcommand to a file
// before running the real one, and returns it and a counter of go builds.
func countingGo(t *testing.T) (string, func() int) {
	t.Helper()
	real, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	script := fmt.Sprintf("#!/bin/sh\necho \"$1\" >> '%s'\nexec '%s' \"$@\"\n", calls, real)
	bin := filepath.Join(dir, "go")
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	builds := func() int {
		b, _ := os.ReadFile(calls)
		return strings.Count(string(b), "build\n")
	}
	return bin, builds
}

func TestShortcut(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs go build of a module again and again")
	}
	t.Setenv("GOFLAGS", "")
	racy := racyWindow
	racyWindow = 0 // the files are written by the test, just before each Run
	defer func() { racyWindow = racy }()

	root := t.TempDir()
	dir := filepath.Join(root, "app")
	lib := filepath.Join(root, "lib")
	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "go.mod"), "module example.com/hello\n\ngo 1.26\n\nrequire example.com/lib v0.0.0\n\nreplace example.com/lib => ../lib\n")
	write(filepath.Join(dir, "main.go"), "package main\n\nimport \"example.com/lib\"\n\nvar version string\n\nfunc main() { println(version, lib.Greeting) }\n")
	write(filepath.Join(lib, "go.mod"), "module example.com/lib\n\ngo 1.26\n")
	write(filepath.Join(lib, "lib.go"), "package lib\n\nconst Greeting = \"hello\"\n")

	goBin, builds := countingGo(t)
	dist := filepath.Join(dir, "dist")
	req := Request{
		Dir: dir, Package: ".", Name: "hello", OutDir: filepath.Join(dist, "bin"),
		Platforms: []v1.Platform{amd64},
		Vars:      map[string]string{"main.version": "v1"},
		GoBin:     goBin,
		StampDir:  filepath.Join(dist, "cache", "compile"),
		Exclude:   []string{dist},
	}
	bin := filepath.Join(dist, "bin", "hello_linux_amd64")
	ctx := context.Background()
	run := func(t *testing.T, req Request) string {
		t.Helper()
		var log bytes.Buffer
		req.Log = &log
		if _, err := Run(ctx, req); err != nil {
			t.Fatal(err)
		}
		return log.String()
	}
	// step runs after change and checks whether go build ran.
	step := func(name string, wantBuild bool, change func(*Request)) {
		t.Run(name, func(t *testing.T) {
			r := req
			if change != nil {
				change(&r)
			}
			before := builds()
			log := run(t, r)
			if got := builds() - before; got != map[bool]int{true: 1, false: 0}[wantBuild] {
				t.Errorf("go build ran %d times, want build=%v; log:\n%s", got, wantBuild, log)
			}
			if !wantBuild && !strings.Contains(log, "up to date") {
				t.Errorf("log does not say the binary is up to date:\n%s", log)
			}
		})
	}

	step("first build", true, nil)
	step("nothing changed", false, nil)
	step("output root written", false, func(*Request) { write(filepath.Join(dist, "oci", "index.json"), "{}") })
	step("source edited", true, func(*Request) {
		write(filepath.Join(dir, "main.go"), "package main\n\nimport \"example.com/lib\"\n\nvar version string\n\nfunc main() { println(version, lib.Greeting, 2) }\n")
	})
	step("then unchanged", false, nil)
	step("file added", true, func(*Request) { write(filepath.Join(dir, "notes.txt"), "x") })
	step("local replacement edited", true, func(*Request) {
		write(filepath.Join(lib, "lib.go"), "package lib\n\nconst Greeting = \"hi\"\n")
	})
	step("-X value changed", true, func(r *Request) { r.Vars = map[string]string{"main.version": "v2"} })
	step("back to the first -X value", true, nil)
	step("go setting in the environment", true, func(r *Request) { r.Env = append(os.Environ(), "GOEXPERIMENT=") })
	step("binary modified", true, func(*Request) {
		f, err := os.OpenFile(bin, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte{0})
		f.Close()
	})
	step("binary removed", true, func(*Request) { os.Remove(bin) })
	step("stamps removed", true, func(*Request) { os.RemoveAll(req.StampDir) })
	step("no stamp directory", true, func(r *Request) { r.StampDir = "" })
	step("workspace", true, func(r *Request) {
		write(filepath.Join(root, "go.work"), "go 1.26\n\nuse (\n\t./app\n\t./lib\n)\n")
		r.Env = append(os.Environ(), "GOWORK="+filepath.Join(root, "go.work"))
	})
	step("workspace again: go build still runs", true, func(r *Request) {
		r.Env = append(os.Environ(), "GOWORK="+filepath.Join(root, "go.work"))
	})

	// The binary the shortcut vouches for is the one go build would make.
	t.Run("kept binary is current", func(t *testing.T) {
		run(t, req)
		kept, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		os.RemoveAll(req.StampDir)
		run(t, req)
		if rebuilt, _ := os.ReadFile(bin); !bytes.Equal(kept, rebuilt) || !bytes.Contains(kept, []byte("hi")) {
			t.Error("the binary kept by the shortcut differs from go build's")
		}
	})

	// A file changed within the racy window is not trusted: its stamp is
	// not recorded, so the next run builds again.
	t.Run("recent change not trusted", func(t *testing.T) {
		racyWindow = time.Hour
		defer func() { racyWindow = 0 }()
		write(filepath.Join(dir, "notes.txt"), "y")
		before := builds()
		run(t, req)
		run(t, req)
		if got := builds() - before; got != 2 {
			t.Errorf("go build ran %d times after a recent change, want 2 (no stamp recorded)", got)
		}
	})
}
