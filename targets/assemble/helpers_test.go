package assemble

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/ocidir"
)

var (
	testCreated = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	amd64       = v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64       = v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
)

// newStore opens a fresh layout in a temp dir.
func newStore(t testing.TB) *ocidir.Dir {
	t.Helper()
	d, err := ocidir.Open(filepath.Join(t.TempDir(), "layout"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// writeFile writes content to dir/name and returns its path.
func writeFile(t testing.TB, dir, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// tarEntry is what a test checks of a tar entry.
type tarEntry struct {
	Name     string
	Typeflag byte
	Mode     int64
	Uid, Gid int
	Uname    string
	Gname    string
	ModTime  time.Time
	Access   time.Time
	Change   time.Time
	PAX      map[string]string
	Content  string
}

// readTar lists r's entries; content is kept for files up to keep bytes.
func readTar(t testing.TB, r io.Reader, keep int64) []tarEntry {
	t.Helper()
	tr := tar.NewReader(r)
	var es []tarEntry
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return es
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Format&(tar.FormatUSTAR|tar.FormatPAX) == 0 {
			t.Errorf("%s: format %v, want USTAR-compatible PAX", h.Name, h.Format)
		}
		e := tarEntry{Name: h.Name, Typeflag: h.Typeflag, Mode: h.Mode, Uid: h.Uid, Gid: h.Gid,
			Uname: h.Uname, Gname: h.Gname, ModTime: h.ModTime.UTC(), Access: h.AccessTime, Change: h.ChangeTime,
			PAX: h.PAXRecords}
		if h.Typeflag == tar.TypeReg && h.Size <= keep {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			e.Content = string(b)
		}
		es = append(es, e)
	}
}

// buildImage resolves base and builds an image of a small fake binary.
func buildImage(t testing.TB, req Request) v1.Image {
	t.Helper()
	img, err := Image(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
