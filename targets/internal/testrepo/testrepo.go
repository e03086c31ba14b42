// Package testrepo makes git repositories of the apps in testdata/ for
// end-to-end tests, with go-git and fixed authors and times, so the same
// content gives the same commit wherever it is made.
package testrepo

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// When is the time of the first commit of every test repository.
func When() time.Time { return time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC) }

// Repo is a test repository.
type Repo struct {
	Dir  string
	repo *git.Repository
	n    int
}

// TestdataDir is the repository's testdata directory.
func TestdataDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata")
}

// New copies testdata/<app> into dir (a new temp dir when ""), makes it a
// git repository with origin https://example.com/org/<app>.git and commits
// everything.
func New(t testing.TB, app, dir string) *Repo {
	t.Helper()
	if dir == "" {
		dir = filepath.Join(t.TempDir(), app)
	}
	if err := CopyTree(filepath.Join(TestdataDir(), app), dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("/dist/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return Init(t, dir, app)
}

// Init makes dir, whose files are already in place, a git repository with
// origin https://example.com/org/<name>.git and commits everything.
func Init(t testing.TB, dir, name string) *Repo {
	t.Helper()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{"git@example.com:org/" + name + ".git"}}); err != nil {
		t.Fatal(err)
	}
	r := &Repo{Dir: dir, repo: repo}
	r.Commit(t, "initial")
	return r
}

// Commit commits every change, one hour after the previous commit.
func (r *Repo) Commit(t testing.TB, msg string) plumbing.Hash {
	t.Helper()
	wt, err := r.repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "Test", Email: "test@example.com", When: When().Add(time.Duration(r.n) * time.Hour)}
	r.n++
	h, err := wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Head is the commit HEAD names, in hex.
func (r *Repo) Head(t testing.TB) string {
	t.Helper()
	head, err := r.repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	return head.Hash().String()
}

// Tag puts a lightweight tag on HEAD.
func (r *Repo) Tag(t testing.TB, name string) {
	t.Helper()
	head, err := r.repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.repo.CreateTag(name, head.Hash(), nil); err != nil {
		t.Fatal(err)
	}
}

// Write writes a file in the work tree.
func (r *Repo) Write(t testing.TB, rel, content string) {
	t.Helper()
	p := filepath.Join(r.Dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// CopyTree copies a directory tree of regular files (executable ones stay
// executable) and symlinks (kept as links).
func CopyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if d.Name() == "dist" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		if d.Type()&os.ModeSymlink != 0 { // kept as a link (testdata/assets has one)
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if fi.Mode()&0o100 != 0 {
			mode = 0o755 // an executable script stays one
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
