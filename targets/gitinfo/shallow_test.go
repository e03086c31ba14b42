package gitinfo

import (
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// shallowClone makes what `git clone --depth` leaves behind, without the git
// binary (go-git's file transport runs git-upload-pack, and its in-process
// server refuses shallow requests): a new repository holding only the given
// commits with their trees, main at the first, .git/shallow listing those
// whose parents were left out, and the tags of copied commits.
func shallowClone(src *testRepo, commits ...plumbing.Hash) *testRepo {
	t := src.t
	t.Helper()
	dst := newRepo(t)
	keep := map[plumbing.Hash]bool{}
	for _, h := range commits {
		keep[h] = true
	}
	var shallow []plumbing.Hash
	for _, h := range commits {
		c, err := src.repo.CommitObject(h)
		if err != nil {
			t.Fatal(err)
		}
		copyObject(t, src.repo.Storer, dst.repo.Storer, h)
		copyTree(t, src.repo.Storer, dst.repo.Storer, c.TreeHash)
		for _, p := range c.ParentHashes {
			if !keep[p] {
				shallow = append(shallow, h)
				break
			}
		}
	}
	if err := dst.repo.Storer.SetShallow(shallow); err != nil {
		t.Fatal(err)
	}
	refs, err := src.repo.Tags()
	if err != nil {
		t.Fatal(err)
	}
	err = refs.ForEach(func(ref *plumbing.Reference) error {
		target, ok, err := peel(src.repo.Storer, ref.Hash())
		if err != nil || !ok || !keep[target] {
			return err
		}
		if ref.Hash() != target {
			copyObject(t, src.repo.Storer, dst.repo.Storer, ref.Hash())
		}
		return dst.repo.Storer.SetReference(ref)
	})
	if err != nil {
		t.Fatal(err)
	}
	main := plumbing.NewHashReference(plumbing.NewBranchReferenceName("main"), commits[0])
	if err := dst.repo.Storer.SetReference(main); err != nil {
		t.Fatal(err)
	}
	if err := dst.wt.Reset(&git.ResetOptions{Commit: commits[0], Mode: git.HardReset}); err != nil {
		t.Fatalf("reset: %v", err)
	}
	return dst
}

func copyObject(t testing.TB, from, to storer.EncodedObjectStorer, h plumbing.Hash) {
	t.Helper()
	obj, err := from.EncodedObject(plumbing.AnyObject, h)
	if err != nil {
		t.Fatalf("reading %s: %v", h, err)
	}
	if _, err := to.SetEncodedObject(obj); err != nil {
		t.Fatalf("writing %s: %v", h, err)
	}
}

func copyTree(t testing.TB, from, to storer.EncodedObjectStorer, h plumbing.Hash) {
	t.Helper()
	copyObject(t, from, to, h)
	tree, err := object.GetTree(from, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tree.Entries {
		switch e.Mode {
		case filemode.Dir:
			copyTree(t, from, to, e.Hash)
		case filemode.Submodule:
		default:
			copyObject(t, from, to, e.Hash)
		}
	}
}

func TestReadShallow(t *testing.T) {
	src := newRepo(t)
	c1 := src.commit()
	src.tag("v1.0.0", c1)
	c2 := src.commits(2)
	src.annotatedTag("v1.1.0", c2)
	c3 := src.commits(1)
	parent := src.commit()
	head := src.commit()

	tests := []struct {
		name     string
		commits  []plumbing.Hash
		dangling string // a tag ref to c1, whose object the clone lacks
		want     string
	}{
		{"depth 1, no tag reachable", []plumbing.Hash{head}, "", pseudo(src, head)},
		{"depth 1, tagged commit fetched apart", []plumbing.Hash{head, c2}, "", pseudo(src, head)},
		{"depth 1, tag to a missing commit", []plumbing.Hash{head}, "v1.0.0", pseudo(src, head)},
		{"depth 1, tag on HEAD", []plumbing.Hash{c2}, "", "v1.1.0"},
		{"depth 4 reaches a tag", []plumbing.Hash{head, parent, c3, c2}, "", "v1.1.0-3-g" + head.String()[:7]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clone := shallowClone(src, tt.commits...)
			if tt.dangling != "" {
				ref := plumbing.NewHashReference(plumbing.NewTagReferenceName(tt.dangling), c1)
				if err := clone.repo.Storer.SetReference(ref); err != nil {
					t.Fatal(err)
				}
			}
			// CI checks out a SHA: detach HEAD.
			if err := clone.repo.Storer.SetReference(plumbing.NewHashReference(plumbing.HEAD, tt.commits[0])); err != nil {
				t.Fatal(err)
			}
			got, err := Read(clone.dir)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if !got.Shallow || got.Branch != "" || got.Version != tt.want {
				t.Errorf("Read: got Shallow=%v Branch=%q Version=%q, want true, \"\", %q", got.Shallow, got.Branch, got.Version, tt.want)
			}
		})
	}
}

// pseudo is the pseudo-version of h in r.
func pseudo(r *testRepo, h plumbing.Hash) string {
	return "v0.0.0-" + r.commitTime(h).Format("20060102150405") + "-" + h.String()[:12]
}
