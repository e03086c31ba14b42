package ocidir

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// imageBlobs lists the digests of img's manifest, config and layers.
func imageBlobs(t *testing.T, img v1.Image) []string {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := img.RawManifest()
	hs := []string{sha(raw).Hex, m.Config.Digest.Hex}
	for _, l := range m.Layers {
		hs = append(hs, l.Digest.Hex)
	}
	return hs
}

func TestGC(t *testing.T) {
	d := openTemp(t)
	ctx := t.Context()

	// Kept: a platform image under a multi-arch index (index.json lists
	// only the index), and an image reached only as the subject of a
	// referrer listed in index.json.
	platImg := testImage(t, 2, 4<<10, 20)
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), mutate.IndexAddendum{Add: platImg})
	subjImg := testImage(t, 1, 4<<10, 21)
	subjDesc, err := d.WriteImage(ctx, subjImg)
	if err != nil {
		t.Fatal(err)
	}
	referrer, err := mutate.AppendLayers(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIEmptyJSON),
		static.NewLayer([]byte("sig"), "application/vnd.example.sig"))
	if err != nil {
		t.Fatal(err)
	}
	referrer = mutate.Subject(referrer, subjDesc).(v1.Image) // after AppendLayers, which drops it
	// Removed: an image no longer listed, and an orphan blob.
	oldImg := testImage(t, 2, 4<<10, 22)

	if _, err := d.WriteImage(ctx, platImg); err != nil {
		t.Fatal(err)
	}
	rawIdx, _ := idx.RawManifest()
	idxDesc := v1.Descriptor{MediaType: types.OCIImageIndex, Size: int64(len(rawIdx)), Digest: sha(rawIdx)}
	if _, _, err := d.WriteBlob(bytes.NewReader(rawIdx), idxDesc.Digest); err != nil {
		t.Fatal(err)
	}
	refDesc, err := d.WriteImage(ctx, referrer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.WriteImage(ctx, oldImg); err != nil {
		t.Fatal(err)
	}
	orphan, _, err := d.WriteBlob(bytes.NewReader([]byte("orphan")), v1.Hash{})
	if err != nil {
		t.Fatal(err)
	}
	// A ggcr-style temp file under blobs/ is garbage too.
	junk := filepath.Join(d.Path(), "blobs", "sha256", orphan.Hex+"123456")
	os.WriteFile(junk, []byte("x"), 0o644)
	// Temp files: an old one goes, a fresh one (a writer at work) stays.
	stale := filepath.Join(d.Path(), tempPrefix+"stale")
	fresh := filepath.Join(d.Path(), tempPrefix+"fresh")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(stale, old, old)

	if err := d.WriteIndexJSON([]v1.Descriptor{idxDesc, refDesc}); err != nil {
		t.Fatal(err)
	}
	if err := d.GC(); err != nil {
		t.Fatal(err)
	}

	want := append(imageBlobs(t, platImg), idxDesc.Digest.Hex)
	want = append(want, imageBlobs(t, subjImg)...)
	want = append(want, imageBlobs(t, referrer)...)
	slices.Sort(want)
	want = slices.Compact(want)
	if diff := cmp.Diff(want, blobNames(t, d)); diff != "" {
		t.Errorf("blobs after GC (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{fresh}, tempFiles(t, d.Path())); diff != "" {
		t.Errorf("temp files after GC (-want +got):\n%s", diff)
	}
	os.Remove(fresh)
	checkLayout(t, d.Path())
	img, err := d.Image(subjDesc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := img.ConfigFile(); err != nil {
		t.Errorf("subject image after GC: %v", err)
	}
}

func TestGCKeepsEverythingOnBadIndex(t *testing.T) {
	d := openTemp(t)
	desc, err := d.WriteImage(t.Context(), testImage(t, 1, 1024, 23))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WriteIndexJSON([]v1.Descriptor{desc}); err != nil {
		t.Fatal(err)
	}
	before := blobNames(t, d)

	// A corrupt manifest: GC must not conclude its layers are garbage.
	os.WriteFile(d.BlobPath(desc.Digest), []byte("{}"), 0o644)
	if err := d.GC(); err == nil {
		t.Error("GC with a corrupt manifest succeeded")
	}
	// A 0-byte index.json: nothing is reachable, so nothing may go.
	os.WriteFile(filepath.Join(d.Path(), "index.json"), nil, 0o644)
	if err := d.GC(); err == nil {
		t.Error("GC with an empty index.json succeeded")
	}
	if diff := cmp.Diff(before, blobNames(t, d)); diff != "" {
		t.Errorf("blobs (-before +after):\n%s", diff)
	}
}
