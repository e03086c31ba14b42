package index_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/image-spec/schema"

	"github.com/gantrybuild/gantry/targets/index"
)

func plat(arch, variant string) *v1.Platform {
	return &v1.Platform{OS: "linux", Architecture: arch, Variant: variant}
}

// hash is a digest made of one repeated hex digit.
func hash(t testing.TB, c string) v1.Hash {
	t.Helper()
	h, err := v1.NewHash("sha256:" + strings.Repeat(c, 64))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func desc(t testing.TB, c string, p *v1.Platform) v1.Descriptor {
	return v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: 500 + int64(len(c)), Digest: hash(t, c), Platform: p}
}

func TestAnnotations(t *testing.T) {
	created := time.Date(2026, 11, 1, 14, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))
	tests := []struct {
		name string
		meta index.Meta
		want map[string]string
	}{
		{"empty", index.Meta{}, map[string]string{}},
		{"created in UTC without fraction", index.Meta{Created: created},
			map[string]string{index.Created: "2026-11-01T12:00:00Z"}},
		{"all", index.Meta{
			Created: time.Unix(0, 0), Version: "v1.2.3", Revision: "0123abcd",
			Source: "https://example.com/org/hello", Title: "hello",
			BaseName: "docker.io/library/alpine:3", BaseDigest: "sha256:" + strings.Repeat("a", 64),
		}, map[string]string{
			"org.opencontainers.image.created":     "1970-01-01T00:00:00Z",
			"org.opencontainers.image.version":     "v1.2.3",
			"org.opencontainers.image.revision":    "0123abcd",
			"org.opencontainers.image.source":      "https://example.com/org/hello",
			"org.opencontainers.image.title":       "hello",
			"org.opencontainers.image.base.name":   "docker.io/library/alpine:3",
			"org.opencontainers.image.base.digest": "sha256:" + strings.Repeat("a", 64),
		}},
		{"empty values dropped", index.Meta{Version: "v0.1.0", Title: "api"},
			map[string]string{index.Version: "v0.1.0", index.Title: "api"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, index.Annotations(tc.meta)); diff != "" {
				t.Errorf("Annotations mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRefNameFor(t *testing.T) {
	tests := []struct {
		version string
		p       *v1.Platform
		want    string
	}{
		{"v1.2.3", nil, "v1.2.3"},
		{"v1.2.3", plat("amd64", ""), "v1.2.3-amd64"},
		{"v1.2.3", plat("arm64", ""), "v1.2.3-arm64"},
		{"v1.2.3", plat("arm", "v7"), "v1.2.3-armv7"},
		{"v1.2.3", plat("amd64", "v3"), "v1.2.3-amd64v3"},
		{"v1.2.3", plat("arm64", "v8.2"), "v1.2.3-arm64v8.2"},
		{"v1.2.3-4-gabcdef0-dirty", plat("amd64", ""), "v1.2.3-4-gabcdef0-dirty-amd64"},
		{"v0.0.0-20261101120000-0123456789ab", nil, "v0.0.0-20261101120000-0123456789ab"},
		// Allowed punctuation is kept.
		{"v1.2.3+build.5", nil, "v1.2.3+build.5"},
		{"release/2026:a@b_c", nil, "release/2026:a@b_c"},
		// Everything else becomes '-', one per character.
		{"v1 2~3!", nil, "v1-2-3-"},
		{"vé", plat("amd64", ""), "v--amd64"},
	}
	for _, tt := range tests {
		if got := index.RefNameFor(tt.version, tt.p); got != tt.want {
			t.Errorf("RefNameFor(%q, %v) = %q, want %q", tt.version, tt.p, got, tt.want)
		}
	}
}

func TestManifest(t *testing.T) {
	amd := desc(t, "a", plat("amd64", ""))
	amd.Annotations = map[string]string{index.RefName: "dropped"}
	amd.URLs = []string{"https://example.com/dropped"}
	armv7 := desc(t, "b", plat("arm", "v7"))
	arm64 := desc(t, "c", plat("arm64", ""))
	ann := map[string]string{index.Version: "v1.2.3"}

	// The bytes are the index digest: pin them, so a change in encoding or
	// order shows here before it changes every image's digest.
	want := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":501,"digest":"sha256:` + strings.Repeat("a", 64) + `","platform":{"architecture":"amd64","os":"linux"}},` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":501,"digest":"sha256:` + strings.Repeat("b", 64) + `","platform":{"architecture":"arm","os":"linux","variant":"v7"}},` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":501,"digest":"sha256:` + strings.Repeat("c", 64) + `","platform":{"architecture":"arm64","os":"linux"}}` +
		`],"annotations":{"org.opencontainers.image.version":"v1.2.3"}}`

	for _, order := range [][]v1.Descriptor{
		{amd, armv7, arm64},
		{arm64, armv7, amd},
		{armv7, arm64, amd},
		{arm64, amd, armv7, amd}, // the same image twice is indexed once
	} {
		got, err := index.Manifest(order, ann)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("Manifest(%s) =\n%s\nwant\n%s", digests(order), got, want)
		}
	}
	raw, _ := index.Manifest([]v1.Descriptor{amd, arm64}, ann)
	if err := schema.ValidatorMediaTypeImageIndex.Validate(bytes.NewReader(raw)); err != nil {
		t.Errorf("index fails the image-index schema: %v\n%s", err, raw)
	}
	if amd.Annotations[index.RefName] != "dropped" || amd.Platform.Variant != "" {
		t.Errorf("Manifest changed its input descriptor: %+v", amd)
	}
}

func digests(ds []v1.Descriptor) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Digest.Hex[:1])
	}
	return strings.Join(out, ",")
}

func TestManifestWithoutAnnotations(t *testing.T) {
	for _, ann := range []map[string]string{nil, {}} {
		raw, err := index.Manifest([]v1.Descriptor{desc(t, "a", plat("amd64", ""))}, ann)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if _, ok := m["annotations"]; ok {
			t.Errorf("Manifest(…, %#v) = %s, want no annotations key", ann, raw)
		}
	}
}

func TestManifestErrors(t *testing.T) {
	tests := []struct {
		name      string
		manifests []v1.Descriptor
		want      []string
	}{
		{"none", nil, []string{"no platform images to index", "layout step"}},
		{"missing platform", []v1.Descriptor{desc(t, "a", plat("amd64", "")), desc(t, "b", nil)},
			[]string{"sha256:" + strings.Repeat("b", 64), "has no platform"}},
		{"two digests for one platform", []v1.Descriptor{desc(t, "a", plat("amd64", "")), desc(t, "c", plat("arm64", "")), desc(t, "b", plat("amd64", ""))},
			[]string{"linux/amd64", "sha256:" + strings.Repeat("a", 64), "sha256:" + strings.Repeat("b", 64)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := index.Manifest(tc.manifests, nil)
			if err == nil {
				t.Fatalf("Manifest = %s, want an error", raw)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestPlatformEntries(t *testing.T) {
	arm64 := desc(t, "c", plat("arm64", ""))
	arm64.Annotations = map[string]string{"other": "dropped"}
	amd := desc(t, "a", plat("amd64", "v3"))
	got := index.PlatformEntries("v1.0.0", []v1.Descriptor{arm64, amd})
	want := []v1.Descriptor{
		{MediaType: amd.MediaType, Size: amd.Size, Digest: amd.Digest, Platform: plat("amd64", "v3"),
			Annotations: map[string]string{index.RefName: "v1.0.0-amd64v3"}},
		{MediaType: arm64.MediaType, Size: arm64.Size, Digest: arm64.Digest, Platform: plat("arm64", ""),
			Annotations: map[string]string{index.RefName: "v1.0.0-arm64"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PlatformEntries mismatch (-want +got):\n%s", diff)
	}
	// The entries own their platforms.
	got[0].Platform.Variant = "v4"
	if amd.Platform.Variant != "v3" {
		t.Error("PlatformEntries shares Platform pointers with its input")
	}
}

func TestLayoutEntries(t *testing.T) {
	idx := v1.Descriptor{
		MediaType: types.OCIImageIndex, Size: 42, Digest: hash(t, "f"),
		Platform:    plat("amd64", ""),
		Annotations: map[string]string{"caller": "kept"},
	}
	got := index.LayoutEntries("v2.0.0", idx, []v1.Descriptor{desc(t, "c", plat("arm64", "")), desc(t, "b", plat("arm", "v7"))})
	want := []v1.Descriptor{
		{MediaType: types.OCIImageIndex, Size: 42, Digest: hash(t, "f"), Annotations: map[string]string{index.RefName: "v2.0.0"}},
		{MediaType: types.OCIManifestSchema1, Size: 501, Digest: hash(t, "b"), Platform: plat("arm", "v7"),
			Annotations: map[string]string{index.RefName: "v2.0.0-armv7"}},
		{MediaType: types.OCIManifestSchema1, Size: 501, Digest: hash(t, "c"), Platform: plat("arm64", ""),
			Annotations: map[string]string{index.RefName: "v2.0.0-arm64"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LayoutEntries mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"caller": "kept"}, idx.Annotations); diff != "" {
		t.Errorf("LayoutEntries changed the caller's annotations (-want +got):\n%s", diff)
	}
}

// platformImage is a random image whose config names platform p and whose
// manifest carries version and revision annotations.
func platformImage(t *testing.T, p *v1.Platform, version string) v1.Image {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
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
	return mutate.Annotations(img, map[string]string{index.Version: version, index.Revision: "abc123"}).(v1.Image)
}

func digestOf(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestPlatformsNestedIndex reads a layout whose index.json names an image
// index (with two platform images), a platform image with no platform on
// its descriptor, and one of the index's images again.
func TestPlatformsNestedIndex(t *testing.T) {
	amd := platformImage(t, plat("amd64", ""), "v1.0.0")
	arm64 := platformImage(t, plat("arm64", "v8"), "v1.0.0")
	armv7 := platformImage(t, plat("arm", "v7"), "v1.0.0")
	nested := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: plat("amd64", "")}},
		mutate.IndexAddendum{Add: arm64, Descriptor: v1.Descriptor{Platform: plat("arm64", "v8")}},
	)
	dir := t.TempDir()
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendIndex(nested); err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(armv7); err != nil { // platform only in the config
		t.Fatal(err)
	}
	if err := lp.AppendImage(amd, layout.WithPlatform(*plat("amd64", ""))); err != nil {
		t.Fatal(err)
	}

	srcs, err := index.Platforms(dir)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Platform, Digest, Layout, Version, Revision string
		ImageDigest                                 string
	}
	var got []row
	for _, s := range srcs {
		got = append(got, row{
			Platform: s.Descriptor.Platform.OS + "/" + s.Descriptor.Platform.Architecture + "/" + s.Descriptor.Platform.Variant,
			Digest:   s.Descriptor.Digest.String(), Layout: s.Layout, Version: s.Version, Revision: s.Revision,
			ImageDigest: digestOf(t, s.Image).String(),
		})
	}
	want := []row{
		{"linux/amd64/", digestOf(t, amd).String(), dir, "v1.0.0", "abc123", digestOf(t, amd).String()},
		// arm64/v8 is normalised to plain arm64.
		{"linux/arm64/", digestOf(t, arm64).String(), dir, "v1.0.0", "abc123", digestOf(t, arm64).String()},
		{"linux/arm/v7", digestOf(t, armv7).String(), dir, "v1.0.0", "abc123", digestOf(t, armv7).String()},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Platforms mismatch (-want +got):\n%s", diff)
	}
}

func TestPlatformsErrors(t *testing.T) {
	notLayout := t.TempDir()
	if err := os.WriteFile(filepath.Join(notLayout, "index.json"), []byte(`{"schemaVersion":2,"manifests":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	noPlatform := t.TempDir()
	img, err := random.Image(64, 1) // config has no os/architecture
	if err != nil {
		t.Fatal(err)
	}
	lp, err := layout.Write(noPlatform, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir string
		want      []string
	}{
		{"no oci-layout", notLayout, []string{notLayout, "no OCI image layout"}},
		{"image without platform", noPlatform, []string{noPlatform, digestOf(t, img).String(), "no platform"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srcs, err := index.Platforms(tc.dir)
			if err == nil {
				t.Fatalf("Platforms = %d sources, want an error", len(srcs))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
