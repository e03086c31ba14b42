package gantry

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
)

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// touch rewrites a file with new content and a new modification time.
func touch(t *testing.T, path, body string) {
	t.Helper()
	write(t, path, body)
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
}

// TestKey changes one input of the engine at a time: each change that can
// change the engine's bytes must change the key, and the others must not
// (they would rebuild the engine for nothing).
func TestKey(t *testing.T) {
	t.Setenv("GOENV", "off")
	t.Setenv("GOFLAGS", "")
	root := t.TempDir()
	kit := filepath.Join(root, "kit")
	build := filepath.Join(root, "app", "magefiles")
	setup := func(t *testing.T) {
		os.RemoveAll(root)
		write(t, filepath.Join(kit, "go.mod"), "module github.com/gantrybuild/gantry\n\ngo 1.26\n")
		write(t, filepath.Join(kit, "targets", "targets.go"), "package targets\n")
		write(t, filepath.Join(kit, "targets", "tmpl", "x.tmpl"), "template\n")
		write(t, filepath.Join(kit, "docs", "bench.md"), "numbers\n")
		write(t, filepath.Join(kit, "testdata", "hello", "main.go"), "package main\n")
		write(t, filepath.Join(kit, "dist", ".gantry"), "marker\n")
		write(t, filepath.Join(kit, "magefiles", "go.mod"), "module github.com/gantrybuild/gantry/magefiles\n")
		write(t, filepath.Join(build, "go.mod"), "module example.com/app/magefiles\n\ngo 1.26\n\nrequire github.com/gantrybuild/gantry v0.0.0-00010101000000-000000000000\n\nreplace github.com/gantrybuild/gantry => ../../kit\n")
		write(t, filepath.Join(build, "go.sum"), "example.com/x v1.0.0 h1:abc=\n")
		write(t, filepath.Join(build, "magefile.go"), "//go:build mage\n\npackage main\n")
	}
	tests := []struct {
		name   string
		change func(t *testing.T)
		same   bool
	}{
		{"nothing", func(t *testing.T) {}, true},
		{"go.mod", func(t *testing.T) {
			touch(t, filepath.Join(build, "go.mod"), "module example.com/app/magefiles\n\ngo 1.26\n\nrequire github.com/gantrybuild/gantry v0.4.0\n")
		}, false},
		{"go.sum", func(t *testing.T) { touch(t, filepath.Join(build, "go.sum"), "example.com/x v1.0.1 h1:def=\n") }, false},
		{"a kit source in the replace directory", func(t *testing.T) {
			touch(t, filepath.Join(kit, "targets", "targets.go"), "package targets // edited\n")
		}, false},
		{"a new kit file", func(t *testing.T) { write(t, filepath.Join(kit, "targets", "new.go"), "package targets\n") }, false},
		{"a kit file removed", func(t *testing.T) { os.Remove(filepath.Join(kit, "targets", "targets.go")) }, false},
		{"GOFLAGS", func(t *testing.T) { t.Setenv("GOFLAGS", "-tags=netgo") }, false},
		{"CGO_ENABLED", func(t *testing.T) { t.Setenv("CGO_ENABLED", "1") }, false},
		{"go env -w", func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "env")
			write(t, f, "GOFLAGS=-tags=netgo\n")
			t.Setenv("GOENV", f)
		}, false},
		{"the magefile (mage rebuilds the front, not the engine)", func(t *testing.T) {
			touch(t, filepath.Join(build, "magefile.go"), "//go:build mage\n\npackage main // edited\n")
		}, true},
		{"a file embedded beside a package", func(t *testing.T) {
			touch(t, filepath.Join(kit, "targets", "tmpl", "x.tmpl"), "edited\n")
		}, false},
		{"the kit's go.mod", func(t *testing.T) {
			touch(t, filepath.Join(kit, "go.mod"), "module github.com/gantrybuild/gantry\n\ngo 1.26.1\n")
		}, false},
		{"a doc outside every package (the module root has no Go files)", func(t *testing.T) {
			touch(t, filepath.Join(kit, "docs", "bench.md"), "new numbers\n")
		}, true},
		{"the kit's testdata", func(t *testing.T) {
			touch(t, filepath.Join(kit, "testdata", "hello", "main.go"), "package main // edited\n")
		}, true},
		{"the kit's build output", func(t *testing.T) { write(t, filepath.Join(kit, "dist", "oci", "blob"), "x") }, true},
		{"the kit's nested magefiles module", func(t *testing.T) { write(t, filepath.Join(kit, "magefiles", "bench.go"), "package main\n") }, true},
		{"the module cache location", func(t *testing.T) { t.Setenv("GOMODCACHE", t.TempDir()) }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			setup(t)
			before, err := Key(build)
			if err != nil {
				t.Fatal(err)
			}
			tc.change(t)
			after, err := Key(build)
			if err != nil {
				t.Fatal(err)
			}
			if (before == after) != tc.same {
				t.Errorf("key before %s, after %s: same = %v, want %v", before, after, before == after, tc.same)
			}
		})
	}
}

func TestBuildModule(t *testing.T) {
	root := t.TempDir()
	if _, err := BuildModule(root); err == nil || !strings.Contains(err.Error(), "no go.mod") {
		t.Errorf("empty directory: err = %v, want one naming the missing go.mod", err)
	}
	write(t, filepath.Join(root, "go.mod"), "module example.com/app\n")
	if got, _ := BuildModule(root); got != root {
		t.Errorf("root module only: %s, want %s", got, root)
	}
	write(t, filepath.Join(root, "magefiles", "go.mod"), "module example.com/app/magefiles\n")
	if got, _ := BuildModule(root); got != filepath.Join(root, "magefiles") {
		t.Errorf("with a build module: %s, want magefiles/", got)
	}
}

// TestAbsoluteReplaces: the engine builds in another directory, so its
// go.mod's local replace directives must point where the build module's do.
func TestAbsoluteReplaces(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "magefiles")
	write(t, filepath.Join(dir, "go.mod"), "module example.com/app/magefiles\n\ngo 1.26\n\nrequire (\n\tgithub.com/gantrybuild/gantry v0.0.0-00010101000000-000000000000\n\texample.com/lib v1.0.0\n)\n\nreplace github.com/gantrybuild/gantry => ../../kit\n\nreplace example.com/lib => example.com/fork v1.0.1\n")
	b, err := absoluteReplaces(dir)
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.Parse("go.mod", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range mf.Replace {
		got[r.Old.Path] = r.New.Path + " " + r.New.Version
	}
	if want := filepath.Join(dir, "..", "..", "kit") + " "; got["github.com/gantrybuild/gantry"] != want {
		t.Errorf("kit replace = %q, want %q", got["github.com/gantrybuild/gantry"], want)
	}
	if got["example.com/lib"] != "example.com/fork v1.0.1" {
		t.Errorf("module replace = %q, want it unchanged", got["example.com/lib"])
	}
	if len(mf.Replace) != 2 {
		t.Errorf("%d replace directives, want 2:\n%s", len(mf.Replace), b)
	}
}

func TestRemoveOlder(t *testing.T) {
	cache := t.TempDir()
	mod := t.TempDir() // the build module
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/app/magefiles\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	otherMod := t.TempDir()
	os.WriteFile(filepath.Join(otherMod, "go.mod"), []byte("module example.com/other/magefiles\n"), 0o644)
	now := time.Now()
	engine := func(key, source string, used time.Time) {
		d := filepath.Join(cache, key)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "source"), []byte(source+"\n"), 0o644)
		os.WriteFile(filepath.Join(d, "engine"), []byte("bin"), 0o755)
		if err := os.Chtimes(d, used, used); err != nil {
			t.Fatal(err)
		}
	}
	engine("new", mod, now)                                    // just built
	engine("recent", mod, now.Add(-time.Hour))                 // the other settings, used an hour ago
	engine("old", mod, now.Add(-48*time.Hour))                 // older still
	engine("other-module", otherMod, now.Add(-72*time.Hour))   // another build module: kept
	engine("gone", filepath.Join(t.TempDir(), "deleted"), now) // its build module is gone
	os.MkdirAll(filepath.Join(cache, ".build-123"), 0o755)     // a build in progress
	removeOlder(cache, "new", mod)
	for key, want := range map[string]bool{"new": true, "recent": true, "old": false, "other-module": true, "gone": false, ".build-123": true} {
		if _, err := os.Stat(filepath.Join(cache, key)); (err == nil) != want {
			t.Errorf("%s kept = %v, want %v", key, err == nil, want)
		}
	}
}

func TestKeyChange(t *testing.T) {
	base := []string{"engine\taa", "toolchain\tbb", "env\tcc", "go.mod\tdd", "go.sum\tee", "replace github.com/gantrybuild/gantry => ../kit\tff"}
	with := func(name, sum string) []string {
		var out []string
		for _, p := range base {
			if n, _, _ := strings.Cut(p, "\t"); n == name {
				p = name + "\t" + sum
			}
			out = append(out, p)
		}
		return out
	}
	for _, tc := range []struct {
		name          string
		before, after []string
		want          string
	}{
		{"no engine yet", nil, base, "the first for this build module"},
		{"an engine of an earlier Gantry", []string{}, base, "the last one did not record its inputs"},
		{"a kit upgrade", base, with("go.sum", "e2"), "go.sum changed"},
		{"an edit in the kit's clone", base, with("replace github.com/gantrybuild/gantry => ../kit", "f2"), "the files under ../kit changed"},
		{"a new toolchain and settings", base, with("toolchain", "b2")[:2:2], "the Go toolchain changed; the GO*/CGO_* environment, go.mod, go.sum, the files under ../kit gone"},
		{"go env -w appeared", base, append(with("env", "c2"), "goenv\tgg"), "the GO*/CGO_* environment, the go env -w settings changed"},
		{"nothing", base, base, "the last one's inputs are unchanged: rebuilt"},
	} {
		if got := keyChange(tc.before, tc.after); got != tc.want {
			t.Errorf("%s: keyChange = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestKeyPartsMatchKey checks that the parts cover what the key does: two
// build modules that differ in one input differ in that part only.
func TestKeyPartsMatchKey(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/app/magefiles\n\ngo 1.26\n"), 0o644)
	key1, parts1, err := keyParts(dir)
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := Key(dir); k != key1 {
		t.Fatalf("Key = %s, keyParts = %s", k, key1)
	}
	os.WriteFile(filepath.Join(dir, "go.sum"), []byte("example.com/x v1.0.0 h1:abc=\n"), 0o644)
	key2, parts2, err := keyParts(dir)
	if err != nil {
		t.Fatal(err)
	}
	if key1 == key2 {
		t.Fatal("a go.sum change left the key as it was")
	}
	if got := keyChange(parts1, parts2); got != "go.sum changed" {
		t.Errorf("keyChange = %q, want go.sum changed", got)
	}
}
