package targets_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gantrybuild/gantry/targets/internal/testrepo"
)

// tree maps every path under dir (the .git directory included) to its
// mode and a hash of its content.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			out[rel] = info.Mode().String()
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		out[rel] = info.Mode().String() + " " + hex.EncodeToString(sum[:8])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMageRefusesBadSettings replays, with the command a user types, the
// settings that deleted a checkout, built the defaults instead of what was
// asked, or failed late having written blobs: each fails in one line that
// names the value and the fix, and leaves the tree as it was.
func TestMageRefusesBadSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a magefile binary")
	}
	r := consumer(t)
	if err := testrepo.CopyTree(filepath.Join(testrepo.TestdataDir(), "hello"), filepath.Join(r.Dir, "testdata", "hello")); err != nil {
		t.Fatal(err)
	}
	r.Commit(t, "testdata")
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	parent := filepath.Dir(r.Dir)
	// Build the magefile binary once, into a cache of this test's, and
	// have the runs below use it without asking go build again.
	fast := []string{"MAGEFILE_CACHE=" + t.TempDir(), "MAGEFILE_HASHFAST=1"}
	if out, err := mage(t, r.Dir, fast, "-l"); err != nil {
		t.Fatalf("mage -l: %v\n%s", err, out)
	}
	before := tree(t, parent)
	_, homeMarkerErr := os.Stat(filepath.Join(home, ".gantry"))

	// clean is the target that deleted; release checks the rest (each
	// run costs seconds, and the package shares go test's timeout).
	tests := []struct {
		target string
		env    string
		want   []string
	}{
		{"clean", "GANTRY_OUT=.", []string{`output directory "."`, "the module root", "GANTRY_OUT=dist"}},
		{"clean", "GANTRY_OUT=..", []string{`output directory ".."`, "above the module", "GANTRY_OUT=dist"}},
		{"clean", "GANTRY_OUT=testdata/hello", []string{`output directory "testdata/hello"`, "tracked files (testdata/hello/", "GANTRY_OUT=dist"}},
		{"clean", "GANTRY_OUT=" + home, []string{"your home directory", "GANTRY_OUT=dist"}},
		{"release", "GANTRY_OUT=.", []string{`output directory "."`, "the module root"}},
		{"release", "GANTRY_PLATFORM=linux/arm64", []string{"unknown variable GANTRY_PLATFORM (did you mean GANTRY_PLATFORMS?)", "GANTRY_ALLOW_UNKNOWN_VARS"}},
		{"release", "GANTRY_PLATFORMS=linux/amd64,", []string{`GANTRY_PLATFORMS="linux/amd64,": element 2 is empty`}},
		{"release", "GANTRY_PLATFORMS=", []string{"GANTRY_PLATFORMS is set but empty", "unset it to get the default"}},
		{"release", "SOURCE_DATE_EPOCH=99999999999999", []string{`SOURCE_DATE_EPOCH="99999999999999" is after the year 9999`}},
	}
	for _, tc := range tests {
		target := tc.target
		t.Run(target+" "+tc.env, func(t *testing.T) {
			out, err := mage(t, r.Dir, append([]string{tc.env}, fast...), target)
			if err == nil {
				t.Fatalf("mage %s with %s succeeded:\n%s", target, tc.env, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if lines := strings.Count(strings.TrimSpace(out), "\n"); lines > 0 {
				t.Errorf("%d lines, want one:\n%s", lines+1, out)
			}
			if diff := cmp.Diff(before, tree(t, parent)); diff != "" {
				t.Errorf("mage %s with %s changed the checkout (-before +after):\n%s", target, tc.env, diff)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(home, ".gantry")); homeMarkerErr != nil && err == nil {
		t.Errorf("a refused run marked the home directory as Gantry's output")
	}

	// clean removes what Gantry created, says what, and nothing else.
	out, err := mage(t, r.Dir, append([]string{"GANTRY_PLATFORMS=linux/amd64", "GANTRY_SBOM=0"}, fast...), "release")
	if err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	out, err = mage(t, r.Dir, fast, "clean")
	if err != nil {
		t.Fatalf("clean: %v\n%s", err, out)
	}
	if want := "removed " + filepath.Join(r.Dir, "dist") + " (bin, cache, oci)"; !strings.Contains(out, want) {
		t.Errorf("clean said %q, want %q", out, want)
	}
	if diff := cmp.Diff(before, tree(t, parent)); diff != "" {
		t.Errorf("release then clean left the checkout changed (-before +after):\n%s", diff)
	}
	r.Write(t, "dist/notes.txt", "mine")
	out, err = mage(t, r.Dir, fast, "clean")
	if err == nil || !strings.Contains(out, "was not created by Gantry") {
		t.Errorf("clean of a dist/ Gantry did not create: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(r.Dir, "dist", "notes.txt")); err != nil {
		t.Errorf("clean removed a directory Gantry did not create: %v", err)
	}
}
