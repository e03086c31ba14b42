package gitinfo

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/google/go-cmp/cmp"
)

// statusLists returns the changes quickStatus and go-git's Status report
// for the work tree at dir (with dist/ as the output directory), as sorted
// porcelain lines.
func statusLists(t *testing.T, dir string) (quick []string, quickErr error, slow []string) {
	t.Helper()
	open := func() (*git.Repository, *git.Worktree, []string) {
		repo, err := git.PlainOpen(dir)
		if err != nil {
			t.Fatal(err)
		}
		wt, err := repo.Worktree()
		if err != nil {
			t.Fatal(err)
		}
		return repo, wt, []string{filepath.Join(dir, "dist")}
	}
	lines := func(st map[string]*fileStatus) []string {
		var out []string
		for p, s := range st {
			if s.x != ' ' || s.y != ' ' {
				out = append(out, string([]byte{s.x, s.y})+" "+p)
			}
		}
		sort.Strings(out)
		return out
	}

	repo, wt, ignore := open()
	exclude, _, err := infoExclude(repo)
	if err != nil {
		t.Fatal(err)
	}
	exclude = append(exclude, ignorePatterns(wt.Filesystem.Root(), ignore)...)
	st, quickErr := quickStatus(repo, wt.Filesystem.Root(), exclude)
	if quickErr == nil {
		quick = lines(st)
	}

	repo, wt, _ = open()
	st, err = goGitStatus(repo, wt, exclude)
	if err != nil {
		t.Fatal(err)
	}
	return quick, quickErr, lines(st)
}

// statusRepo is a committed work tree with the kinds of entries quickStatus
// handles: nested files, an executable, a symlink, ignore files at two
// levels and a tracked file inside an ignored directory.
func statusRepo(t *testing.T) *testRepo {
	t.Helper()
	r := newRepo(t)
	r.write(".gitignore", "/dist/\n*.log\nbuild/\n")
	r.write("a.txt", "alpha\n")
	r.write("dir/b.go", "package dir\n")
	r.write("dir/sub/c.go", "package sub\n")
	r.write("dir/.gitignore", "tmp/\n")
	r.write("script.sh", "#!/bin/sh\n")
	if err := os.Chmod(filepath.Join(r.dir, "script.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.txt", filepath.Join(r.dir, "link")); err != nil {
		t.Fatal(err)
	}
	r.commit()
	r.write("build/keep.txt", "kept\n")
	if _, err := r.wt.Add("build/keep.txt"); err != nil {
		t.Fatal(err)
	}
	r.commit()
	return r
}

// TestQuickStatusMatchesGoGit checks, for each kind of change, that
// quickStatus reports exactly what go-git's Status reports, or steps aside.
func TestQuickStatusMatchesGoGit(t *testing.T) {
	old := time.Now().Add(-time.Hour)
	tests := []struct {
		name     string
		edit     func(t *testing.T, r *testRepo)
		want     []string
		fallback bool // quickStatus must step aside
		// goGitMisses: go-git trusts size and mtime alone and sees no
		// change; git, and quickStatus, also compare the ctime.
		goGitMisses bool
	}{
		{name: "clean"},
		{name: "touched only", edit: func(t *testing.T, r *testRepo) {
			chtimes(t, filepath.Join(r.dir, "a.txt"), old)
		}},
		{name: "same size, mtime restored", edit: func(t *testing.T, r *testRepo) {
			p := filepath.Join(r.dir, "a.txt")
			fi, _ := os.Stat(p)
			r.write("a.txt", "ALPHA\n")
			chtimes(t, p, fi.ModTime())
		}, want: []string{" M a.txt"}, goGitMisses: true},
		{name: "modified in the commit's tick", edit: func(t *testing.T, r *testRepo) {
			r.write("dir/b.go", "package diR\n")
		}, want: []string{" M dir/b.go"}},
		{name: "grown", edit: func(t *testing.T, r *testRepo) {
			r.write("dir/sub/c.go", "package sub\n\nvar x = 1\n")
		}, want: []string{" M dir/sub/c.go"}},
		{name: "deleted", edit: func(t *testing.T, r *testRepo) {
			os.Remove(filepath.Join(r.dir, "dir/sub/c.go"))
		}, want: []string{" D dir/sub/c.go"}},
		{name: "whole directory deleted", edit: func(t *testing.T, r *testRepo) {
			os.RemoveAll(filepath.Join(r.dir, "dir"))
		}, want: []string{" D dir/.gitignore", " D dir/b.go", " D dir/sub/c.go"}},
		{name: "executable bit dropped", edit: func(t *testing.T, r *testRepo) {
			os.Chmod(filepath.Join(r.dir, "script.sh"), 0o644)
		}, want: []string{" M script.sh"}},
		{name: "symlink retargeted", edit: func(t *testing.T, r *testRepo) {
			os.Remove(filepath.Join(r.dir, "link"))
			os.Symlink("script.sh", filepath.Join(r.dir, "link"))
		}, want: []string{" M link"}},
		{name: "untracked files", edit: func(t *testing.T, r *testRepo) {
			r.write("new.txt", "new\n")
			r.write("newdir/x/y.go", "package x\n")
		}, want: []string{"?? new.txt", "?? newdir/x/y.go"}},
		{name: "empty untracked directory", edit: func(t *testing.T, r *testRepo) {
			os.MkdirAll(filepath.Join(r.dir, "empty", "deeper"), 0o755)
		}},
		{name: "ignored files", edit: func(t *testing.T, r *testRepo) {
			r.write("debug.log", "x")
			r.write("dir/sub/trace.log", "x")
			r.write("build/out.bin", "x")
			r.write("dir/tmp/scratch.go", "x")
			r.write("dist/bin/app", "x")
		}},
		{name: "staged addition", edit: func(t *testing.T, r *testRepo) {
			r.write("added.txt", "a\n")
			add(t, r, "added.txt")
		}, want: []string{"A  added.txt"}},
		{name: "staged modification, modified again", edit: func(t *testing.T, r *testRepo) {
			r.write("a.txt", "beta\n")
			add(t, r, "a.txt")
			r.write("a.txt", "gamma and more\n")
		}, want: []string{"MM a.txt"}},
		{name: "staged deletion", edit: func(t *testing.T, r *testRepo) {
			if _, err := r.wt.Remove("dir/b.go"); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"D  dir/b.go"}},
		{name: "tracked file under an ignored directory modified", edit: func(t *testing.T, r *testRepo) {
			r.write("build/keep.txt", "changed\n")
		}, want: []string{" M build/keep.txt"}},
		{name: "file replaced by a directory", edit: func(t *testing.T, r *testRepo) {
			os.Remove(filepath.Join(r.dir, "a.txt"))
			r.write("a.txt/inner", "x")
		}, fallback: true},
		{name: "negated ignore pattern", edit: func(t *testing.T, r *testRepo) {
			r.write("dir/.gitignore", "tmp/\n!keep.log\n")
		}, fallback: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := statusRepo(t)
			if tc.edit != nil {
				tc.edit(t, r)
			}
			quick, quickErr, slow := statusLists(t, r.dir)
			if tc.fallback {
				if !errors.Is(quickErr, errFallback) {
					t.Errorf("quickStatus = %q, %v; want it to step aside (errFallback)", quick, quickErr)
				}
			} else {
				if quickErr != nil {
					t.Fatalf("quickStatus: %v", quickErr)
				}
				if tc.goGitMisses {
					if diff := cmp.Diff(tc.want, quick); diff != "" {
						t.Errorf("quickStatus (-want +got):\n%s", diff)
					}
					if slow != nil {
						t.Errorf("go-git's Status = %q, want it to miss the change (if it sees it now, drop goGitMisses)", slow)
					}
					return
				}
				if diff := cmp.Diff(slow, quick); diff != "" {
					t.Errorf("quickStatus differs from go-git's Status (-go-git +quick):\n%s", diff)
				}
			}
			// dir/.gitignore counts as modified in the negation case.
			if !tc.fallback || tc.want != nil {
				if diff := cmp.Diff(tc.want, slow); diff != "" {
					t.Errorf("go-git's Status (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestQuickStatusWithGitIndex runs quickStatus on indexes written by git
// itself, which carry the cached tree quickStatus compares with HEAD.
func TestQuickStatusWithGitIndex(t *testing.T) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git command")
	}
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(gitBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	write := func(p, s string) {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run("init", "-q")
	write("a.txt", "a\n")
	write("d/b.txt", "b\n")
	run("add", "-A")
	run("commit", "-qm", "one")
	for _, step := range []struct {
		name string
		do   func()
		want []string
	}{
		{"clean", func() {}, nil},
		{"staged", func() { write("d/b.txt", "bb\n"); run("add", "d/b.txt") }, []string{"M  d/b.txt"}},
		{"committed", func() { run("commit", "-qm", "two") }, nil},
		{"staged and reverted in the work tree", func() {
			write("a.txt", "changed\n")
			run("add", "a.txt")
			write("a.txt", "a\n")
		}, []string{"MM a.txt"}},
	} {
		step.do()
		quick, quickErr, slow := statusLists(t, dir)
		if quickErr != nil {
			t.Fatalf("%s: quickStatus: %v", step.name, quickErr)
		}
		if diff := cmp.Diff(step.want, quick); diff != "" {
			t.Errorf("%s: quickStatus (-want +got):\n%s", step.name, diff)
		}
		if diff := cmp.Diff(slow, quick); diff != "" {
			t.Errorf("%s: quickStatus differs from go-git's Status (-go-git +quick):\n%s", step.name, diff)
		}
	}
}

func chtimes(t *testing.T, p string, when time.Time) {
	t.Helper()
	if err := os.Chtimes(p, when, when); err != nil {
		t.Fatal(err)
	}
}

func add(t *testing.T, r *testRepo, p string) {
	t.Helper()
	if _, err := r.wt.Add(p); err != nil {
		t.Fatal(err)
	}
}

// TestIndexTree: the tree computed from the index is the one committed,
// with git's ordering of a directory against files that share its prefix.
func TestIndexTree(t *testing.T) {
	r := statusRepo(t)
	for _, p := range []string{"a-b", "a/x", "a.c", "a0", "dir/sub.go", "dir/sub/d/e.txt", "z/a/b/c"} {
		r.write(p, p+"\n")
	}
	h := r.commit()
	idx, err := r.repo.Storer.Index()
	if err != nil {
		t.Fatal(err)
	}
	commit, err := r.repo.CommitObject(h)
	if err != nil {
		t.Fatal(err)
	}
	got, err := indexTree(idx.Entries)
	if err != nil || got != commit.TreeHash {
		t.Errorf("indexTree = %s, %v; want HEAD's tree %s", got, err, commit.TreeHash)
	}
	r.write("a.c", "changed\n")
	add(t, r, "a.c")
	idx, _ = r.repo.Storer.Index()
	if got, _ := indexTree(idx.Entries); got == commit.TreeHash {
		t.Error("indexTree after staging a change = HEAD's tree, want another")
	}
}
