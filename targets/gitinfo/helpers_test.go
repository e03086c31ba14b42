package gitinfo

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// epoch is the time of a test repository's first commit; later commits are
// an hour apart. The zone checks that CommitTime comes back in UTC.
var epoch = time.Date(2024, 5, 1, 14, 0, 0, 0, time.FixedZone("CEST", 2*60*60))

// testRepo builds a repository with go-git in a temporary directory.
type testRepo struct {
	t    testing.TB
	dir  string
	repo *git.Repository
	wt   *git.Worktree
	n    int // commits so far
}

func newRepo(t testing.TB) *testRepo {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")},
	})
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatalf("worktree: %v", err)
	}
	return &testRepo{t: t, dir: dir, repo: repo, wt: wt}
}

func (r *testRepo) sig() *object.Signature {
	return &object.Signature{Name: "Test", Email: "test@example.com", When: epoch.Add(time.Duration(r.n) * time.Hour)}
}

// write creates or replaces a file in the work tree.
func (r *testRepo) write(path, content string) {
	r.t.Helper()
	full := filepath.Join(r.dir, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// commit changes a file, stages everything and commits, with parents if
// given (a merge) or on HEAD.
func (r *testRepo) commit(parents ...plumbing.Hash) plumbing.Hash {
	r.t.Helper()
	r.n++
	r.write("commits.txt", strconv.Itoa(r.n)+"\n")
	if err := r.wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		r.t.Fatalf("add: %v", err)
	}
	h, err := r.wt.Commit("commit "+strconv.Itoa(r.n), &git.CommitOptions{Author: r.sig(), Parents: parents})
	if err != nil {
		r.t.Fatalf("commit: %v", err)
	}
	return h
}

// commits makes n commits on HEAD and returns the last.
func (r *testRepo) commits(n int) plumbing.Hash {
	r.t.Helper()
	var h plumbing.Hash
	for range n {
		h = r.commit()
	}
	return h
}

func (r *testRepo) tag(name string, h plumbing.Hash) {
	r.t.Helper()
	if _, err := r.repo.CreateTag(name, h, nil); err != nil {
		r.t.Fatalf("tag %s: %v", name, err)
	}
}

func (r *testRepo) annotatedTag(name string, h plumbing.Hash) {
	r.t.Helper()
	if _, err := r.repo.CreateTag(name, h, &git.CreateTagOptions{Tagger: r.sig(), Message: "release " + name}); err != nil {
		r.t.Fatalf("tag %s: %v", name, err)
	}
}

// checkout moves HEAD to a branch (created at h if h is not zero) or, with
// an empty branch, detaches it at h.
func (r *testRepo) checkout(branch string, h plumbing.Hash) {
	r.t.Helper()
	opts := &git.CheckoutOptions{Hash: h, Force: true}
	if branch != "" {
		opts = &git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName(branch), Hash: h, Create: !h.IsZero(), Force: true}
	}
	if err := r.wt.Checkout(opts); err != nil {
		r.t.Fatalf("checkout %s %s: %v", branch, h, err)
	}
}

func (r *testRepo) remote(name, url string) {
	r.t.Helper()
	if _, err := r.repo.CreateRemote(&config.RemoteConfig{Name: name, URLs: []string{url}}); err != nil {
		r.t.Fatalf("remote: %v", err)
	}
}

// commitTime is the UTC committer time of h.
func (r *testRepo) commitTime(h plumbing.Hash) time.Time {
	r.t.Helper()
	c, err := r.repo.CommitObject(h)
	if err != nil {
		r.t.Fatal(err)
	}
	return c.Committer.When.UTC()
}
