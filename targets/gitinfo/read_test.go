package gitinfo

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// head returns the Info fields every Read of a commit on main shares.
func head(r *testRepo, h plumbing.Hash) Info {
	return Info{
		Found:      true,
		Revision:   h.String(),
		Short:      h.String()[:12],
		CommitTime: r.commitTime(h),
		Branch:     "main",
	}
}

func TestRead(t *testing.T) {
	tests := []struct {
		name string
		// setup builds a repository and returns the directory to read and
		// the Info wanted.
		setup func(r *testRepo) (string, Info)
	}{
		{"tag on HEAD", func(r *testRepo) (string, Info) {
			r.commit()
			h := r.commit()
			r.tag("v1.2.3", h)
			want := head(r, h)
			want.Tag, want.Version = "v1.2.3", "v1.2.3"
			return r.dir, want
		}},
		{"highest of several tags on HEAD", func(r *testRepo) (string, Info) {
			h := r.commit()
			r.tag("v1.10.0-rc.1", h)
			r.tag("v1.10.0", h)
			r.annotatedTag("v1.9.0", h)
			want := head(r, h)
			want.Tag, want.Version = "v1.10.0", "v1.10.0"
			return r.dir, want
		}},
		{"commits after a tag", func(r *testRepo) (string, Info) {
			r.tag("v1.0.0", r.commit())
			h := r.commits(2)
			want := head(r, h)
			want.Version = "v1.0.0-2-g" + h.String()[:7]
			return r.dir, want
		}},
		{"nearest tag wins over a higher older one", func(r *testRepo) (string, Info) {
			r.tag("v2.0.0", r.commit())
			r.tag("v1.5.0", r.commit())
			h := r.commit()
			want := head(r, h)
			want.Version = "v1.5.0-1-g" + h.String()[:7]
			return r.dir, want
		}},
		{"no tags", func(r *testRepo) (string, Info) {
			h := r.commits(3)
			want := head(r, h)
			want.Version = pseudo(r, h)
			return r.dir, want
		}},
		{"annotated tags", func(r *testRepo) (string, Info) {
			r.annotatedTag("v0.1.0", r.commit())
			h := r.commit()
			r.annotatedTag("v0.2.0", h)
			want := head(r, h)
			want.Tag, want.Version = "v0.2.0", "v0.2.0"
			return r.dir, want
		}},
		{"non-semver tags ignored", func(r *testRepo) (string, Info) {
			r.tag("v1.0.0", r.commit())
			h := r.commit()
			r.tag("v2", h)
			r.tag("2.0.0", h)
			r.annotatedTag("release-2", h)
			want := head(r, h)
			want.Version = "v1.0.0-1-g" + h.String()[:7]
			return r.dir, want
		}},
		{"dirty tracked change", func(r *testRepo) (string, Info) {
			h := r.commit()
			r.tag("v1.2.3", h)
			r.write("commits.txt", "changed\n")
			want := head(r, h)
			want.Tag, want.Version, want.Dirty = "v1.2.3", "v1.2.3-dirty", true
			return r.dir, want
		}},
		{"untracked file is dirty", func(r *testRepo) (string, Info) {
			h := r.commit()
			r.write("new.go", "package main\n")
			want := head(r, h)
			want.Version, want.Dirty = pseudo(r, h)+"-dirty", true
			return r.dir, want
		}},
		{"staged file is dirty", func(r *testRepo) (string, Info) {
			h := r.commit()
			r.write("new.go", "package main\n")
			if _, err := r.wt.Add("new.go"); err != nil {
				r.t.Fatal(err)
			}
			want := head(r, h)
			want.Version, want.Dirty = pseudo(r, h)+"-dirty", true
			return r.dir, want
		}},
		{"ignored files are not dirty", func(r *testRepo) (string, Info) {
			r.write(".gitignore", "dist/\n*.log\n")
			r.write(".git/info/exclude", "scratch/\n")
			h := r.commit()
			r.tag("v1.0.0", h)
			r.write("dist/app_linux_amd64/app", "binary")
			r.write("build.log", "log")
			r.write("scratch/notes.txt", "notes")
			want := head(r, h)
			want.Tag, want.Version = "v1.0.0", "v1.0.0"
			return r.dir, want
		}},
		{"tracked file in an ignored directory", func(r *testRepo) (string, Info) {
			r.write("dist/keep.txt", "kept")
			r.commit()
			r.write(".gitignore", "dist/\n")
			h := r.commit()
			r.write("dist/new.txt", "ignored")
			want := head(r, h)
			want.Version = pseudo(r, h)
			return r.dir, want
		}},
		{"tracked file in an ignored directory changed", func(r *testRepo) (string, Info) {
			r.write("dist/keep.txt", "kept")
			r.commit()
			r.write(".gitignore", "dist/\n")
			h := r.commit()
			r.write("dist/keep.txt", "changed")
			want := head(r, h)
			want.Version, want.Dirty = pseudo(r, h)+"-dirty", true
			return r.dir, want
		}},
		{"negation cannot re-include below an ignored directory", func(r *testRepo) (string, Info) {
			r.write(".gitignore", "build/\n!build/keep.go\n")
			h := r.commit()
			r.write("build/keep.go", "package build\n")
			want := head(r, h)
			want.Version = pseudo(r, h)
			return r.dir, want
		}},
		{"tracked file deleted", func(r *testRepo) (string, Info) {
			r.write("main.go", "package main\n")
			h := r.commit()
			if err := os.Remove(filepath.Join(r.dir, "main.go")); err != nil {
				r.t.Fatal(err)
			}
			want := head(r, h)
			want.Version, want.Dirty = pseudo(r, h)+"-dirty", true
			return r.dir, want
		}},
		{"detached HEAD", func(r *testRepo) (string, Info) {
			r.tag("v1.0.0", r.commit())
			h := r.commit()
			r.commit()
			r.checkout("", h)
			want := head(r, h)
			want.Branch, want.Version = "", "v1.0.0-1-g"+h.String()[:7]
			return r.dir, want
		}},
		{"other branch", func(r *testRepo) (string, Info) {
			r.commit()
			r.checkout("feature/x", r.commit())
			h := r.commit()
			want := head(r, h)
			want.Branch, want.Version = "feature/x", pseudo(r, h)
			return r.dir, want
		}},
		{"subdirectory", func(r *testRepo) (string, Info) {
			r.write("testdata/hello/main.go", "package main\n")
			h := r.commit()
			want := head(r, h)
			want.Version = pseudo(r, h)
			return filepath.Join(r.dir, "testdata", "hello"), want
		}},
		{"origin with credentials", func(r *testRepo) (string, Info) {
			r.remote("origin", "https://ci:s3cret@github.com/gantrybuild/gantry.git")
			r.remote("fork", "git@github.com:someone/gantry.git")
			h := r.commit()
			want := head(r, h)
			want.Source, want.Version = "https://github.com/gantrybuild/gantry", pseudo(r, h)
			return r.dir, want
		}},
		{"no commits yet", func(r *testRepo) (string, Info) {
			return r.dir, Info{}
		}},
		{"not a repository", func(r *testRepo) (string, Info) {
			return t.TempDir(), Info{}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, want := tt.setup(newRepo(t))
			got, err := Read(dir)
			if err != nil {
				t.Fatalf("Read(%s): %v", dir, err)
			}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Info{}, "Changes")); diff != "" {
				t.Errorf("Read(%s) mismatch (-want +got):\n%s", dir, diff)
			}
			if got.Found && got.CommitTime.Location() != time.UTC {
				t.Errorf("CommitTime: got location %v, want UTC", got.CommitTime.Location())
			}
		})
	}
}

func TestReadMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	if _, err := Read(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read(%s): got error %v, want one wrapping fs.ErrNotExist", dir, err)
	}
}

func TestChangesAndIgnorePaths(t *testing.T) {
	r := newRepo(t)
	r.write("main.go", "package main\n")
	r.commit()
	r.write("main.go", "package main // edited\n")
	r.write("notes.txt", "new")
	r.write("out/app", "binary") // the build output, not in .gitignore

	got, err := Read(r.dir, IgnorePaths(filepath.Join(r.dir, "out")))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{" M main.go", "?? notes.txt"}
	if diff := cmp.Diff(want, got.Changes); diff != "" {
		t.Errorf("Changes (-want +got):\n%s", diff)
	}

	r.write("main.go", "package main\n")
	os.Remove(filepath.Join(r.dir, "notes.txt"))
	got, err = Read(r.dir, IgnorePaths(filepath.Join(r.dir, "out")))
	if err != nil {
		t.Fatal(err)
	}
	if got.Dirty || len(got.Changes) != 0 {
		t.Errorf("with only the ignored output changed: Dirty = %v, Changes = %q; want clean", got.Dirty, got.Changes)
	}
	got, err = Read(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Dirty {
		t.Error("without IgnorePaths, an untracked out/ should make the tree dirty")
	}

	// Output committed by mistake, then rebuilt: still not a source change.
	r.commit()
	r.write("out/app", "rebuilt binary")
	got, err = Read(r.dir, IgnorePaths(filepath.Join(r.dir, "out")))
	if err != nil {
		t.Fatal(err)
	}
	if got.Dirty {
		t.Errorf("a changed tracked file under the ignored output made the tree dirty: %q", got.Changes)
	}
}

func TestSourceThroughLocalClone(t *testing.T) {
	upstream := newRepo(t)
	upstream.remote("origin", "git@github.com:org/app.git")
	upstream.commit()
	for _, url := range []string{upstream.dir, "file://" + upstream.dir} {
		clone := newRepo(t)
		clone.remote("origin", url)
		clone.commit()
		got, err := Read(clone.dir)
		if err != nil {
			t.Fatal(err)
		}
		if want := "https://github.com/org/app"; got.Source != want {
			t.Errorf("origin %s: Source = %q, want the upstream's %q", url, got.Source, want)
		}
	}
	gone := newRepo(t)
	gone.remote("origin", filepath.Join(t.TempDir(), "missing"))
	gone.commit()
	if got, err := Read(gone.dir); err != nil || got.Source != "" {
		t.Errorf("origin at a missing path: Source = %q, err = %v; want empty, nil", got.Source, err)
	}
}

// An output directory inside the module hides only itself: edits next to
// it, or in a sibling whose name it prefixes, still make the tree dirty.
func TestIgnorePathsNestedOutput(t *testing.T) {
	r := newRepo(t)
	r.write("build/gen.go", "package build\n")
	r.write("build/outside.go", "package build\n")
	r.commit()
	ignore := IgnorePaths(filepath.Join(r.dir, "build", "out"))
	r.write("build/out/app", "binary")
	r.write("build/out/bin/app_linux_amd64", "binary")
	got, err := Read(r.dir, ignore)
	if err != nil {
		t.Fatal(err)
	}
	if got.Dirty {
		t.Errorf("only the output changed, yet dirty: %q", got.Changes)
	}
	r.write("build/gen.go", "package build // edited\n")
	r.write("build/outside.go", "package build // edited\n")
	r.write("build/out2/x.go", "package x\n")
	got, err = Read(r.dir, ignore)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{" M build/gen.go", "?? build/out2/x.go", " M build/outside.go"}
	if diff := cmp.Diff(want, got.Changes); diff != "" {
		t.Errorf("Changes (-want +got):\n%s", diff)
	}
}

func TestTracked(t *testing.T) {
	r := newRepo(t)
	r.write("testdata/hello/main.go", "package main\n")
	r.write("main.go", "package main\n")
	r.commit()
	os.MkdirAll(filepath.Join(r.dir, "dist"), 0o755)
	root, _ := filepath.EvalSymlinks(r.dir)
	for _, tc := range []struct {
		dir, want string
		inGit     bool
	}{
		{"testdata/hello", "testdata/hello/main.go", false},
		{"testdata", "testdata/hello/main.go", false},
		{".", "main.go", false},
		{"testdata/hello/new", "", false},
		{"dist", "", false},
		{"build/out", "", false},
		{"test", "", false}, // a prefix of testdata, not a parent
		{".git", "", true},
		{".git/refs", "", true},
	} {
		got, gotRoot, inGit, err := Tracked(filepath.Join(r.dir, tc.dir))
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want && !(tc.dir == "." && got != "") || inGit != tc.inGit || gotRoot != root {
			t.Errorf("Tracked(%s) = %q, %q, %v; want %q, %q, %v", tc.dir, got, gotRoot, inGit, tc.want, root, tc.inGit)
		}
	}
	if got, root, _, err := Tracked(t.TempDir()); got != "" || root != "" || err != nil {
		t.Errorf("outside a repository: %q %q %v", got, root, err)
	}
}
