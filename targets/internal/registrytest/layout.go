package registrytest

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gantrybuild/gantry/targets/index"
	"github.com/gantrybuild/gantry/targets/ocidir"
	"github.com/gantrybuild/gantry/targets/platform"
)

// WriteLayout writes into dir the layout Gantry's index step leaves: one
// OCI image per platform (layers random layers of layerSize bytes, drawn
// from seed) and an index over them named version. It returns the index
// descriptor.
func WriteLayout(t testing.TB, dir, version string, seed int64, layers int, layerSize int64, platforms ...string) v1.Descriptor {
	t.Helper()
	return WriteLayoutAnnotated(t, dir, version, seed, layers, layerSize, nil, platforms...)
}

// WriteLayoutAnnotated is WriteLayout with extra annotations on each
// platform manifest (e.g. org.opencontainers.image.base.name).
func WriteLayoutAnnotated(t testing.TB, dir, version string, seed int64, layers int, layerSize int64, annotations map[string]string, platforms ...string) v1.Descriptor {
	t.Helper()
	ctx := context.Background()
	store, err := ocidir.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var descs []v1.Descriptor
	for i, ps := range platforms {
		p, err := platform.Parse(ps)
		if err != nil {
			t.Fatal(err)
		}
		img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
		for j := range layers {
			l, err := random.Layer(layerSize, types.OCILayer, random.WithSource(rand.NewSource(seed*1000+int64(i*100+j))))
			if err != nil {
				t.Fatal(err)
			}
			if img, err = mutate.AppendLayers(img, l); err != nil {
				t.Fatal(err)
			}
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		ann := map[string]string{index.Version: version}
		for k, v := range annotations {
			ann[k] = v
		}
		img = mutate.Annotations(img, ann).(v1.Image)
		d, err := store.WriteImage(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		d.Platform = &p
		descs = append(descs, d)
	}
	raw, err := index.Manifest(descs, map[string]string{index.Version: version})
	if err != nil {
		t.Fatal(err)
	}
	h, size, err := store.WriteBlob(bytes.NewReader(raw), v1.Hash{})
	if err != nil {
		t.Fatal(err)
	}
	idx := v1.Descriptor{MediaType: types.OCIImageIndex, Size: size, Digest: h}
	if err := store.WriteIndexJSON(index.LayoutEntries(version, idx, descs)); err != nil {
		t.Fatal(err)
	}
	return idx
}

// IndexOnlyLayout returns a copy of the layout at src (blobs hard-linked)
// whose index.json names only the image index, which is how `crane push
// DIR REF` wants a layout holding a multi-arch image.
func IndexOnlyLayout(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "index-only")
	blobs := filepath.Join(dst, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(src, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Link(filepath.Join(src, "blobs", "sha256", e.Name()), filepath.Join(blobs, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(filepath.Join(src, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(raw, &im); err != nil {
		t.Fatal(err)
	}
	var keep []v1.Descriptor
	for _, d := range im.Manifests {
		if d.MediaType.IsIndex() {
			keep = append(keep, d)
		}
	}
	im.Manifests = keep
	out, _ := json.Marshal(im)
	for name, data := range map[string][]byte{"index.json": out, "oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`)} {
		if err := os.WriteFile(filepath.Join(dst, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}
