//go:build unix

package ocidir

import (
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestModes checks that blobs are 0644 and directories 0755 even under a
// strict umask, so that another user (a CI step, a container) can read the
// layout. (ko writes 0600 blobs.)
func TestModes(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)

	d := openTemp(t)
	desc, err := d.WriteImage(t.Context(), testImage(t, 1, 1024, 30))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WriteIndexJSON([]v1.Descriptor{desc}); err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(d.Path(), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o644)
		if e.IsDir() {
			want = fs.ModeDir | 0o755
		}
		if fi.Mode() != want && !strings.HasPrefix(e.Name(), tempPrefix) {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
