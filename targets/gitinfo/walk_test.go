package gitinfo

import (
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// TestReadMerges checks describe-style versions across merges; the wanted
// values are what `git describe --tags` prints for the same histories.
func TestReadMerges(t *testing.T) {
	tests := []struct {
		name string
		// setup builds the history and returns HEAD and the wanted
		// "<tag>-<n>" prefix of the version.
		setup func(r *testRepo) (plumbing.Hash, string)
	}{
		{"branch from before the tag", func(r *testRepo) (plumbing.Hash, string) {
			// c0 - c1 (v1.0.0) - c2 - m
			//   \- f1 ---------------/
			c0 := r.commit()
			r.tag("v1.0.0", r.commit())
			c2 := r.commit()
			r.checkout("feature", c0)
			f1 := r.commit()
			r.checkout("main", plumbing.ZeroHash)
			return r.commit(c2, f1), "v1.0.0-3"
		}},
		{"branch from after the tag", func(r *testRepo) (plumbing.Hash, string) {
			// c1 (v1.0.0) - c2 - c3 --- m
			//     \- f1 - f2 ----------/
			c1 := r.commit()
			r.annotatedTag("v1.0.0", c1)
			r.commits(2)
			r.checkout("feature", c1)
			f2 := r.commits(2)
			r.checkout("main", plumbing.ZeroHash)
			c3, err := r.repo.ResolveRevision("main")
			if err != nil {
				r.t.Fatal(err)
			}
			return r.commit(*c3, f2), "v1.0.0-5"
		}},
		{"newer tag on the merged branch", func(r *testRepo) (plumbing.Hash, string) {
			// c1 (v1.0.0) - c2 ------------ m
			//     \- f1 (v1.0.1) - f2 -----/
			c1 := r.commit()
			r.tag("v1.0.0", c1)
			c2 := r.commit()
			r.checkout("release", c1)
			f1 := r.commit()
			r.tag("v1.0.1", f1)
			f2 := r.commit()
			r.checkout("main", plumbing.ZeroHash)
			return r.commit(c2, f2), "v1.0.1-3"
		}},
		{"tag reached through both parents", func(r *testRepo) (plumbing.Hash, string) {
			// c1 (v0.1.0) - c2 - c3 - m1 - c4 - m2
			//     \- f1 ------/        \- f2 -/
			c1 := r.commit()
			r.tag("v0.1.0", c1)
			c3 := r.commits(2)
			r.checkout("a", c1)
			f1 := r.commit()
			r.checkout("main", plumbing.ZeroHash)
			m1 := r.commit(c3, f1)
			c4 := r.commit()
			r.checkout("b", m1)
			f2 := r.commit()
			r.checkout("main", plumbing.ZeroHash)
			return r.commit(c4, f2), "v0.1.0-7"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRepo(t)
			h, prefix := tt.setup(r)
			got, err := Read(r.dir)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			want := prefix + "-g" + h.String()[:7]
			if got.Revision != h.String() || got.Version != want {
				t.Errorf("Read: got %s %q, want %s %q", got.Revision, got.Version, h, want)
			}
		})
	}
}
