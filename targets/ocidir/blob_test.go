package ocidir

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func sha(b []byte) v1.Hash {
	s := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(s[:])}
}

func openTemp(t *testing.T) *Dir {
	t.Helper()
	d, err := Open(filepath.Join(t.TempDir(), "oci"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// blobNames lists blobs/sha256.
func blobNames(t *testing.T, d *Dir) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(d.Path(), "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestStageCommit(t *testing.T) {
	d := openTemp(t)
	content := []byte("hello, layout")
	want := sha(content)

	s, err := d.Stage()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Abort()
	s.Write(content[:5])
	s.Write(content[5:])
	got, n, err := s.Commit(want)
	if err != nil {
		t.Fatal(err)
	}
	if got != want || n != int64(len(content)) {
		t.Errorf("Commit = %s, %d; want %s, %d", got, n, want, len(content))
	}
	s.Abort() // after Commit: a no-op
	b, err := os.ReadFile(d.BlobPath(want))
	if err != nil || !bytes.Equal(b, content) {
		t.Errorf("blob = %q, %v; want %q", b, err, content)
	}
	if fi, err := os.Stat(d.BlobPath(want)); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("blob mode = %v, %v; want 0644", fi.Mode(), err)
	}
	if _, _, err := s.Commit(want); err == nil {
		t.Error("second Commit succeeded")
	}
	if tmp := tempFiles(t, d.Path()); len(tmp) != 0 {
		t.Errorf("temp files left: %v", tmp)
	}

	// Committing the same content again keeps the existing file.
	before, _ := os.Stat(d.BlobPath(want))
	s2, _ := d.Stage()
	s2.Write(content)
	if _, _, err := s2.Commit(v1.Hash{}); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(d.BlobPath(want))
	if !os.SameFile(before, after) {
		t.Error("Commit of an existing blob replaced it")
	}
	if tmp := tempFiles(t, d.Path()); len(tmp) != 0 {
		t.Errorf("temp files left: %v", tmp)
	}
}

func TestCommitWrongDigestLeavesNothing(t *testing.T) {
	d := openTemp(t)
	s, err := d.Stage()
	if err != nil {
		t.Fatal(err)
	}
	s.Write([]byte("actual"))
	wrong := sha([]byte("expected"))
	if _, _, err := s.Commit(wrong); err == nil || !strings.Contains(err.Error(), "mismatch") {
		t.Fatalf("Commit(wrong digest) = %v, want a mismatch error", err)
	}
	if names := blobNames(t, d); len(names) != 0 {
		t.Errorf("blobs left: %v", names)
	}
	if tmp := tempFiles(t, d.Path()); len(tmp) != 0 {
		t.Errorf("temp files left: %v", tmp)
	}
}

func TestAbort(t *testing.T) {
	d := openTemp(t)
	s, err := d.Stage()
	if err != nil {
		t.Fatal(err)
	}
	s.Write([]byte("partial"))
	s.Abort()
	s.Abort()
	if _, err := s.Write([]byte("more")); err == nil {
		t.Error("Write after Abort succeeded")
	}
	if tmp := tempFiles(t, d.Path()); len(tmp) != 0 {
		t.Errorf("temp files left: %v", tmp)
	}
}

func TestHasBlob(t *testing.T) {
	d := openTemp(t)
	content := []byte("some config")
	h, n, err := d.WriteBlob(bytes.NewReader(content), v1.Hash{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		h    v1.Hash
		size int64
		want bool
	}{
		{"any size", h, -1, true},
		{"right size", h, n, true},
		{"wrong size", h, n + 1, false},
		{"missing", sha([]byte("other")), -1, false},
	} {
		got, err := d.HasBlob(tt.h, tt.size)
		if err != nil || got != tt.want {
			t.Errorf("%s: HasBlob = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	// A wrong size asked for does not make a good blob go away.
	if ok, _ := d.HasBlob(h, -1); !ok {
		t.Error("HasBlob with a wrong size removed a good blob")
	}
	for _, bad := range []v1.Hash{
		{Algorithm: "sha512", Hex: h.Hex},
		{Algorithm: "sha256", Hex: "../../oci-layout"},
		{Algorithm: "sha256", Hex: strings.ToUpper(h.Hex)},
	} {
		if _, err := d.HasBlob(bad, -1); err == nil {
			t.Errorf("HasBlob(%q) succeeded, want an error", bad)
		}
	}
}

func TestHasBlobRemovesCorruptBlob(t *testing.T) {
	d := openTemp(t)
	content := []byte("a layer, honest")
	h, _, err := d.WriteBlob(bytes.NewReader(content), v1.Hash{})
	if err != nil {
		t.Fatal(err)
	}
	corrupt := bytes.Clone(content)
	corrupt[0] ^= 1 // same size: only hashing finds it
	if err := os.WriteFile(d.BlobPath(h), corrupt, 0o644); err != nil {
		t.Fatal(err)
	}
	ok, err := d.HasBlob(h, int64(len(content)))
	if err != nil || ok {
		t.Fatalf("HasBlob(corrupt) = %v, %v; want false, nil", ok, err)
	}
	if _, err := os.Stat(d.BlobPath(h)); !os.IsNotExist(err) {
		t.Errorf("corrupt blob still there: %v", err)
	}

	// WriteBlob repairs it.
	if _, _, err := d.WriteBlob(bytes.NewReader(content), h); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(d.BlobPath(h))
	if diff := cmp.Diff(content, b); diff != "" {
		t.Errorf("repaired blob (-want +got):\n%s", diff)
	}
}

func TestWriteBlobSkipsVerifiedBlob(t *testing.T) {
	d := openTemp(t)
	content := []byte("{}")
	h, _, err := d.WriteBlob(bytes.NewReader(content), sha(content))
	if err != nil {
		t.Fatal(err)
	}
	// The reader is not even read when the blob is there.
	got, n, err := d.WriteBlob(failingReader{}, h)
	if err != nil || got != h || n != 2 {
		t.Errorf("WriteBlob(existing) = %s, %d, %v; want %s, 2, nil", got, n, err, h)
	}
	if _, _, err := d.WriteBlob(bytes.NewReader([]byte("[]")), h); err != nil {
		t.Errorf("WriteBlob(other content, existing digest) = %v; want a skip", err)
	}
	if _, _, err := d.WriteBlob(bytes.NewReader([]byte("[]")), sha([]byte("x"))); err == nil {
		t.Error("WriteBlob(wrong content) succeeded")
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, os.ErrClosed }
