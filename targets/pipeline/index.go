package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/index"
	"github.com/gantrybuild/gantry/targets/ocidir"
)

// Index writes, for every image, the multi-arch image index over the
// platform images of its layout (merged first from Config.IndexFrom when
// set) and names it <version> in index.json.
func (b *Build) Index(ctx context.Context) error {
	if err := b.makeOut(); err != nil {
		return err
	}
	for _, t := range b.Config.Images {
		if err := b.indexImage(ctx, t); err != nil {
			return fmt.Errorf("image %s: %w", t.Name, err)
		}
	}
	return nil
}

func (b *Build) indexImage(ctx context.Context, t config.ResolvedImage) error {
	store, err := b.openLayout(t)
	if err != nil {
		return err
	}
	unlock, err := store.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()

	var srcs []index.Source
	if len(b.Config.IndexFrom) > 0 {
		dirs, err := b.indexFrom(t)
		if err != nil {
			return err
		}
		srcs, err = index.Merge(ctx, store, dirs)
		if err != nil {
			return err
		}
		if err := index.CheckSameBuild(srcs, b.Git.Revision, b.Version, b.Config.AllowDirty); err != nil {
			return err
		}
		if srcs, err = index.Select(srcs, t.Platforms); err != nil {
			return fmt.Errorf("GANTRY_INDEX_FROM: %w", err)
		}
	} else if srcs, err = index.Platforms(store.Path()); err != nil {
		return err
	}
	if len(srcs) == 0 {
		return fmt.Errorf("%s holds no platform image: run `go tool mage layout` first", store.Path())
	}
	version := srcs[0].Version
	if version == "" {
		version = b.Version
	}
	var descs []v1.Descriptor
	for _, s := range srcs {
		descs = append(descs, s.Descriptor)
	}
	ann, err := commonAnnotations(srcs)
	if err != nil {
		return err
	}
	raw, err := index.Manifest(descs, ann)
	if err != nil {
		return err
	}
	h, size, err := store.WriteBlob(bytes.NewReader(raw), v1.Hash{})
	if err != nil {
		return err
	}
	idx := v1.Descriptor{MediaType: types.OCIImageIndex, Size: size, Digest: h}
	entries := index.LayoutEntries(version, idx, descs)
	if err := store.WriteIndexJSON(append(entries, keptSignatures(store, entries)...)); err != nil {
		return err
	}
	return store.GC()
}

// indexFrom maps GANTRY_INDEX_FROM entries to this image's layouts: an
// entry is a layout itself (of the one image, or named after an image), a
// directory holding <name> (a copy of dist/oci) or an output directory
// holding oci/<name>.
func (b *Build) indexFrom(t config.ResolvedImage) ([]string, error) {
	others := map[string]bool{}
	for _, o := range b.Config.Images {
		others[o.Name] = o.Name != t.Name
	}
	var dirs []string
	for _, d := range b.Config.IndexFrom {
		isLayout := ocidir.IsLayout(d)
		switch {
		case isLayout && (len(b.Config.Images) == 1 || filepath.Base(d) == t.Name):
			dirs = append(dirs, d)
		case isLayout && others[filepath.Base(d)]:
			// Another image's layout: a CI download of a single artifact
			// of dist/oci/ puts each image's layout in the directory.
		case ocidir.IsLayout(filepath.Join(d, "oci", t.Name)):
			dirs = append(dirs, filepath.Join(d, "oci", t.Name))
		case ocidir.IsLayout(filepath.Join(d, t.Name)):
			dirs = append(dirs, filepath.Join(d, t.Name))
		default:
			return nil, fmt.Errorf("GANTRY_INDEX_FROM entry %s holds no layout for image %s: pass a layout directory (dist/oci/%s) or an output directory containing oci/%s", d, t.Name, t.Name, t.Name)
		}
	}
	return dirs, nil
}

// commonAnnotations are the annotations all platform manifests share, which
// the index carries too (base.digest differs per platform and is dropped).
func commonAnnotations(srcs []index.Source) (map[string]string, error) {
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
	delete(common, index.BaseDigest)
	return common, nil
}
