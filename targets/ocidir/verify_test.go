package ocidir

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/internal/statcache"
)

// openCached opens a layout that remembers verified blobs in cache, trusting
// files however recently they changed (so the test need not wait).
func openCached(t *testing.T, dir, cache string) *Dir {
	t.Helper()
	d, err := Open(dir, WithVerifyCache(cache))
	if err != nil {
		t.Fatal(err)
	}
	d.verified.TrustRecentChanges()
	return d
}

// TestVerifyCache: a verified blob is remembered across Opens, and a blob
// changed in place after its verification, whatever its size and mtime, is
// read again and found corrupt.
func TestVerifyCache(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("no stat signatures: every blob is read")
	}
	dir, cache := filepath.Join(t.TempDir(), "oci"), filepath.Join(t.TempDir(), "verified.txt")
	content := []byte("a layer, verified once")
	d := openCached(t, dir, cache)
	h, _, err := d.WriteBlob(bytes.NewReader(content), v1.Hash{})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := d.HasBlob(h, int64(len(content))); err != nil || !ok {
		t.Fatalf("HasBlob = %v, %v; want true", ok, err)
	}

	// Remembered in the cache file.
	d = openCached(t, dir, cache)
	fi, err := os.Lstat(d.BlobPath(h))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := d.verified.Get(d.BlobPath(h), statcache.SHA256, fi); !ok || v != h.Hex {
		t.Fatalf("verify cache has %q, %v for the blob; want its digest", v, ok)
	}
	if ok, err := d.HasBlob(h, int64(len(content))); err != nil || !ok {
		t.Errorf("HasBlob on a remembered blob = %v, %v; want true", ok, err)
	}
	if ok, _ := d.HasBlob(h, 3); ok {
		t.Error("HasBlob on a remembered blob with the wrong size = true, want false")
	}

	// Corrupted in place, same size, mtime put back.
	corrupt := bytes.Clone(content)
	corrupt[0] ^= 1
	if err := os.WriteFile(d.BlobPath(h), corrupt, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(d.BlobPath(h), fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if ok, err := openCached(t, dir, cache).HasBlob(h, int64(len(content))); err != nil || ok {
		t.Errorf("HasBlob on a blob corrupted after its verification = %v, %v; want false", ok, err)
	}
	if _, err := os.Stat(d.BlobPath(h)); !os.IsNotExist(err) {
		t.Errorf("corrupt blob still there: %v", err)
	}
}
