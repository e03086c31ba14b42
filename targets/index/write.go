package index

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gantrybuild/gantry/targets/internal/shared"
	"github.com/gantrybuild/gantry/targets/ocidir"
	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

// Request is what Write indexes.
type Request struct {
	// From are layouts to merge into the store first (see LayoutsFor);
	// nil: index the platform images the store holds.
	From []string
	// Platforms select, in this order, the merged images to index: the
	// image's configured platforms (only with From).
	Platforms []v1.Platform
	// Revision and Version are the checkout's: merged layouts must come
	// from this build (see CheckSameBuild). Version also names the index
	// when its platform images carry none.
	Revision, Version string
	AllowDirty        bool
}

// Write writes the multi-arch image index over the store's platform images
// (merged first from r.From) and names it <version> in index.json, keeping
// the signatures of what it still names. The caller holds the store's lock.
func Write(ctx context.Context, store *ocidir.Dir, r Request) (v1.Descriptor, error) {
	var srcs []Source
	var err error
	if len(r.From) > 0 {
		if srcs, err = Merge(ctx, store, r.From); err != nil {
			return v1.Descriptor{}, err
		}
		if err := CheckSameBuild(srcs, r.Revision, r.Version, r.AllowDirty); err != nil {
			return v1.Descriptor{}, err
		}
		if srcs, err = Select(srcs, r.Platforms); err != nil {
			return v1.Descriptor{}, fmt.Errorf("GANTRY_INDEX_FROM: %w", err)
		}
	} else if srcs, err = Platforms(store.Path()); err != nil {
		return v1.Descriptor{}, err
	}
	if len(srcs) == 0 {
		return v1.Descriptor{}, &shared.NeedStep{Err: fmt.Errorf("%s holds no platform image", store.Path()), Fix: "run {layout} first"}
	}
	version := srcs[0].Version
	if version == "" {
		version = r.Version
	}
	var descs []v1.Descriptor
	for _, s := range srcs {
		descs = append(descs, s.Descriptor)
	}
	ann, err := commonAnnotations(srcs)
	if err != nil {
		return v1.Descriptor{}, err
	}
	raw, err := Manifest(descs, ann)
	if err != nil {
		return v1.Descriptor{}, err
	}
	h, size, err := store.WriteBlob(bytes.NewReader(raw), v1.Hash{})
	if err != nil {
		return v1.Descriptor{}, err
	}
	idx := v1.Descriptor{MediaType: types.OCIImageIndex, Size: size, Digest: h}
	entries := LayoutEntries(version, idx, descs)
	if err := store.WriteIndexJSON(append(entries, keptSignatures(store, entries)...)); err != nil {
		return v1.Descriptor{}, err
	}
	return idx, store.GC()
}

// WritePlatforms names the platform manifests descs <version>-<arch> in the
// store's index.json (the layout step's hand-off to Write). An index of the
// version that indexes exactly descs stays, so an unchanged rebuild keeps
// index.json and the index blob as they are; so do the signatures of what
// index.json still names. The caller holds the store's lock.
func WritePlatforms(store *ocidir.Dir, version string, descs []v1.Descriptor) error {
	entries := PlatformEntries(version, descs)
	if keep, ok := currentIndex(store, version, descs); ok {
		entries = append([]v1.Descriptor{keep}, entries...)
	}
	entries = append(entries, keptSignatures(store, entries)...)
	if err := store.WriteIndexJSON(entries); err != nil {
		return err
	}
	return store.GC()
}

// LayoutsFor maps GANTRY_INDEX_FROM entries to the layouts of the image
// named image, one of the configured images: an entry is a layout itself
// (of the one image, or named after an image), a directory holding <name>
// (a copy of dist/oci) or an output directory holding oci/<name>.
func LayoutsFor(from []string, image string, images []string) ([]string, error) {
	others := map[string]bool{}
	for _, o := range images {
		others[o] = o != image
	}
	var dirs []string
	for _, d := range from {
		isLayout := ocidir.IsLayout(d)
		switch {
		case isLayout && (len(images) == 1 || filepath.Base(d) == image):
			dirs = append(dirs, d)
		case isLayout && others[filepath.Base(d)]:
			// Another image's layout: a CI download of a single artifact
			// of dist/oci/ puts each image's layout in the directory.
		case ocidir.IsLayout(filepath.Join(d, "oci", image)):
			dirs = append(dirs, filepath.Join(d, "oci", image))
		case ocidir.IsLayout(filepath.Join(d, image)):
			dirs = append(dirs, filepath.Join(d, image))
		default:
			return nil, fmt.Errorf("GANTRY_INDEX_FROM entry %s holds no layout for image %s: pass a layout directory (dist/oci/%s) or an output directory containing oci/%s", d, image, image, image)
		}
	}
	return dirs, nil
}

// currentIndex returns the index entry already in the layout when it names
// this version and indexes exactly these manifests.
func currentIndex(store *ocidir.Dir, version string, descs []v1.Descriptor) (v1.Descriptor, bool) {
	ij, err := store.IndexJSON()
	if err != nil {
		return v1.Descriptor{}, false
	}
	want := map[v1.Hash]bool{}
	for _, d := range descs {
		want[d.Digest] = true
	}
	for _, d := range ij.Manifests {
		if !d.MediaType.IsIndex() || d.Annotations[RefName] != RefNameFor(version, nil) {
			continue
		}
		idx, err := store.ImageIndex(d.Digest)
		if err != nil {
			continue
		}
		im, err := idx.IndexManifest()
		if err != nil || len(im.Manifests) != len(want) {
			continue
		}
		same := true
		for _, m := range im.Manifests {
			same = same && want[m.Digest]
		}
		if same {
			return d, true
		}
	}
	return v1.Descriptor{}, false
}

// keptSignatures are the signature entries of the layout's index.json whose
// subject is among entries (sigtag.Keep): rewriting index.json keeps them,
// so an unchanged rebuild stays signed (a changed manifest's signatures go).
func keptSignatures(store *ocidir.Dir, entries []v1.Descriptor) []v1.Descriptor {
	ij, err := store.IndexJSON()
	if err != nil {
		return nil
	}
	return sigtag.Keep(ij.Manifests, entries)
}

// commonAnnotations are the annotations all platform manifests share, which
// the index carries too (base.digest differs per platform and is dropped).
func commonAnnotations(srcs []Source) (map[string]string, error) {
	var common map[string]string
	for _, s := range srcs {
		m, err := s.Image.Manifest()
		if err != nil {
			return nil, err
		}
		if common == nil {
			common = map[string]string{}
			for k, v := range m.Annotations {
				common[k] = v
			}
			continue
		}
		for k, v := range common {
			if m.Annotations[k] != v {
				delete(common, k)
			}
		}
	}
	delete(common, BaseDigest)
	return common, nil
}
