package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantrybuild/gantry/targets/gitinfo"
	"github.com/gantrybuild/gantry/targets/internal/testrepo"
)

// TestOutRefused replays GANTRY_OUT values that made clean delete a
// checkout or tracked sources: each is refused by Load, in one line naming
// the value and the fix.
func TestOutRefused(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	r := testrepo.New(t, "plain", filepath.Join(t.TempDir(), "plain"))
	if err := testrepo.CopyTree(filepath.Join(testrepo.TestdataDir(), "hello"), filepath.Join(r.Dir, "testdata", "hello")); err != nil {
		t.Fatal(err)
	}
	r.Write(t, "build/gen.go", "package build\n")
	r.Commit(t, "nested testdata and a tracked build/")
	if err := os.Symlink(r.Dir, filepath.Join(t.TempDir(), "link")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		out  string
		want []string
	}{
		{".", []string{`"."`, "the module root", "GANTRY_OUT=dist"}},
		{"..", []string{`".."`, "a directory above the module", "e.g. GANTRY_OUT=dist"}},
		{"/", []string{`"/"`, "the file system root"}},
		{home, []string{home, "your home directory"}},
		{filepath.Dir(home), []string{"above your home directory"}},
		{"testdata/hello", []string{`"testdata/hello"`, "tracked files (testdata/hello/", "git rm -r --cached testdata/hello"}},
		{"testdata", []string{"tracked files (testdata/"}},
		{"build", []string{"tracked files (build/gen.go)"}},
		{"./testdata/hello/", []string{"tracked files"}},
		{"main.go", []string{"a file, not a directory"}},
		{".git", []string{"inside the git directory"}},
		{".git/objects/out", []string{"inside the git directory"}},
		{r.Dir + "/../plain/testdata/hello", []string{"tracked files"}},
	}
	for _, tc := range tests {
		t.Run(tc.out, func(t *testing.T) {
			c, err := Load(Project{}, MapEnv(map[string]string{"GANTRY_OUT": tc.out}), r.Dir)
			if err == nil {
				err = c.CheckOutGit(gitinfo.Tracked)
			}
			if err == nil {
				t.Fatalf("GANTRY_OUT=%s was accepted", tc.out)
			}
			msg := err.Error()
			for _, w := range append(tc.want, "GANTRY_OUT") {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
		})
	}

	// The same values from the magefile are refused too, and name Project.Out.
	if _, err := Load(Project{Out: "."}, nil, r.Dir); err == nil || !strings.Contains(err.Error(), "Project.Out") {
		t.Errorf("Project.Out=. : err = %v, want a refusal naming Project.Out", err)
	}

	for _, ok := range []string{"dist", "build/out", "out", filepath.Join(t.TempDir(), "elsewhere"), filepath.Join(home, "cache", "app")} {
		c, err := Load(Project{}, MapEnv(map[string]string{"GANTRY_OUT": ok}), r.Dir)
		if err == nil {
			err = c.CheckOutGit(gitinfo.Tracked)
		}
		if err != nil {
			t.Errorf("GANTRY_OUT=%s: %v", ok, err)
		}
	}
}

func TestCleanNeedsMarker(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "dist")
	var log bytes.Buffer
	if err := Clean(out, &log); err != nil || !strings.Contains(log.String(), "nothing to clean") {
		t.Errorf("clean of a missing dir: err %v, log %q", err, log.String())
	}

	// A directory Gantry did not create: nothing removed.
	mine := filepath.Join(dir, "mine")
	os.MkdirAll(filepath.Join(mine, "bin"), 0o755)
	os.WriteFile(filepath.Join(mine, "notes.txt"), []byte("keep"), 0o644)
	if err := MakeOut(mine); err != nil {
		t.Fatal(err)
	}
	err := Clean(mine, &log)
	if err == nil || !strings.Contains(err.Error(), "not created by Gantry") || !strings.Contains(err.Error(), OutMarker) {
		t.Errorf("clean of a directory without marker: err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(mine, "notes.txt")); err != nil {
		t.Errorf("clean removed a file of a directory Gantry did not create: %v", err)
	}

	// One Gantry created: removed, and the log says what was in it.
	if err := MakeOut(out); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(out, "oci", "app"), 0o755)
	os.WriteFile(filepath.Join(out, "metadata.json"), []byte("{}"), 0o644)
	if err := MakeOut(out); err != nil { // again: keeps the marker
		t.Fatal(err)
	}
	log.Reset()
	if err := Clean(out, &log); err != nil {
		t.Fatal(err)
	}
	if want := "removed " + out + " (metadata.json, oci)\n"; log.String() != want {
		t.Errorf("clean said %q, want %q", log.String(), want)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("%s still exists after clean: %v", out, err)
	}

	// An empty existing directory becomes Gantry's.
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	if err := MakeOut(empty); err != nil {
		t.Fatal(err)
	}
	if err := Clean(empty, &log); err != nil {
		t.Errorf("clean of an empty directory Gantry marked: %v", err)
	}
}
