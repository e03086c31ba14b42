package realpath

import (
	"os"
	"path/filepath"
	"testing"
)

func TestOf(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(dir, "real"), 0o755)
	if err := os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		filepath.Join(dir, "link"):                    filepath.Join(dir, "real"),
		filepath.Join(dir, "link", "not", "yet"):      filepath.Join(dir, "real", "not", "yet"),
		filepath.Join(dir, "link", "..", "real", "x"): filepath.Join(dir, "real", "x"),
		filepath.Join(dir, "missing", "link", "x"):    filepath.Join(dir, "missing", "link", "x"),
		"/": "/",
	} {
		if got := Of(in); got != want {
			t.Errorf("Of(%s) = %s, want %s", in, got, want)
		}
	}
}
