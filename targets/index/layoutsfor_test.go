package index_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gantrybuild/gantry/targets/index"
)

// TestLayoutsFor maps GANTRY_INDEX_FROM entries to an image's layouts, as
// a merge job finds them: a layout itself, an output directory, a copy of
// dist/oci.
func TestLayoutsFor(t *testing.T) {
	root := t.TempDir()
	layout := func(rel string) string {
		dir := filepath.Join(root, rel)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	single := layout("single/amd64")      // a layout of the one image
	api := layout("job1/oci/api")         // an output directory holding oci/<name>
	worker := layout("job1/oci/worker")   // ... and another image's
	copied := layout("job2/api")          // a copy of dist/oci
	named := layout("downloads/api")      // a layout named after the image
	other := layout("downloads/worker")   // another image's layout, passed too
	empty := filepath.Join(root, "empty") // holds nothing
	os.MkdirAll(empty, 0o755)
	two := []string{"api", "worker"}
	for _, tc := range []struct {
		name   string
		from   []string
		image  string
		images []string
		want   []string
		err    string
	}{
		{"one image takes any layout", []string{single}, "hello", []string{"hello"}, []string{single}, ""},
		{"output directory", []string{filepath.Join(root, "job1")}, "api", two, []string{api}, ""},
		{"output directory, other image", []string{filepath.Join(root, "job1")}, "worker", two, []string{worker}, ""},
		{"copy of dist/oci", []string{filepath.Join(root, "job2")}, "api", two, []string{copied}, ""},
		{"layouts named after images", []string{named, other}, "api", two, []string{named}, ""},
		{"nothing for the image", []string{empty}, "api", two, nil, "GANTRY_INDEX_FROM entry " + empty + " holds no layout for image api"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := index.LayoutsFor(tc.from, tc.image, tc.images)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("LayoutsFor error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("LayoutsFor mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
