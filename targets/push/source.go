package push

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"golang.org/x/sync/errgroup"

	"github.com/gantrybuild/gantry/targets/index"
	"github.com/gantrybuild/gantry/targets/internal/shared"
	"github.com/gantrybuild/gantry/targets/ocidir"
	"github.com/gantrybuild/gantry/targets/platform"
	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

// source is one image read from its layout: the index named in index.json,
// its platform images and every blob they reference, all verified.
type source struct {
	img        Image
	version    string
	revision   string // the commit the layout was built from (org.opencontainers.image.revision); "" outside git
	index      v1.ImageIndex
	indexDesc  v1.Descriptor
	platforms  []platformImage
	signatures []signature // what the sign step added; pushed before the tags
	unlock     func()
}

type platformImage struct {
	desc  v1.Descriptor // with Platform
	image v1.Image
	blobs []blob // config, then layers
}

// blob is a config or layer to upload.
type blob struct {
	layer v1.Layer
	desc  v1.Descriptor
	base  name.Reference // base image it came from, to mount from; nil: none
}

// readSource opens the layout, holds its lock (so no build rewrites it
// during the push) and verifies every blob the index reaches, so a corrupt
// layout fails before anything is sent. The caller calls unlock.
func readSource(ctx context.Context, img Image, jobs int) (*source, error) {
	dir := img.Layout
	if err := ocidir.Exists(dir); errors.Is(err, ocidir.ErrNoLayout) {
		return nil, &shared.NeedStep{Err: err, Fix: "run {release} (or {layout}, then {index}) first; push publishes what they wrote and never builds"}
	} else if err != nil {
		return nil, err
	}
	store, err := ocidir.Open(dir)
	if err != nil {
		return nil, err
	}
	unlock, err := store.Lock(ctx)
	if err != nil {
		return nil, err
	}
	s := &source{img: img, unlock: unlock}
	if err := s.read(ctx, store, jobs); err != nil {
		unlock()
		return nil, err
	}
	return s, nil
}

func (s *source) read(ctx context.Context, store *ocidir.Dir, jobs int) error {
	dir := store.Path()
	ij, err := store.IndexJSON()
	if err != nil {
		return err
	}
	var indexes []v1.Descriptor
	for _, d := range ij.Manifests {
		if d.MediaType.IsIndex() && !sigtag.IsEntry(d) {
			indexes = append(indexes, d)
		}
	}
	switch len(indexes) {
	case 0:
		return &shared.NeedStep{Err: fmt.Errorf("%s holds no image index", dir), Fix: "run {index} (or {release}) first"}
	case 1:
	default:
		return &shared.NeedStep{Err: fmt.Errorf("%s names %d image indexes in index.json; push publishes one", dir, len(indexes)), Fix: "rebuild it with {index}"}
	}
	s.indexDesc = indexes[0]
	if s.index, err = store.ImageIndex(s.indexDesc.Digest); err != nil {
		return err
	}
	im, err := s.index.IndexManifest()
	if err != nil {
		return err
	}
	s.version = im.Annotations[index.Version]
	if s.version == "" {
		s.version = s.indexDesc.Annotations[index.RefName]
	}
	if s.version == "" {
		return &shared.NeedStep{Err: fmt.Errorf("the index in %s has no version (annotation %s)", dir, index.Version), Fix: "rebuild it with {index}"}
	}
	s.revision = im.Annotations[index.Revision]
	for _, child := range im.Manifests {
		if !child.MediaType.IsImage() || child.Platform == nil {
			return fmt.Errorf("the index in %s lists %s (%s) without a platform: push publishes multi-arch images built by Gantry", dir, child.Digest, child.MediaType)
		}
		p, err := readPlatform(store, child)
		if err != nil {
			return fmt.Errorf("%s in %s: %w", platform.String(*child.Platform), dir, err)
		}
		s.platforms = append(s.platforms, p)
	}
	if s.signatures, err = readSignatures(store, ij.Manifests); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	return verifyBlobs(ctx, store, append(s.allBlobs(), s.signatureBlobs()...), jobs)
}

func readPlatform(store *ocidir.Dir, d v1.Descriptor) (platformImage, error) {
	img, err := store.Image(d.Digest)
	if err != nil {
		return platformImage{}, err
	}
	m, err := img.Manifest()
	if err != nil {
		return platformImage{}, err
	}
	p := platformImage{desc: d, image: img}
	cfg, err := partial.ConfigLayer(img)
	if err != nil {
		return platformImage{}, err
	}
	p.blobs = append(p.blobs, blob{layer: cfg, desc: m.Config})
	// Layers before the last come from the base image; with a registry
	// base on the destination's registry they can be mounted from it.
	var base name.Reference
	if bn := m.Annotations[index.BaseName]; bn != "" {
		base, _ = name.ParseReference(bn)
	}
	for i, ld := range m.Layers {
		if !ld.MediaType.IsDistributable() {
			// A foreign layer (Windows base layers): the layout has no copy,
			// and the registry takes the manifest without it (it names its
			// URLs); uploading it would break its licence, as ggcr's
			// remote.Write knows.
			continue
		}
		l, err := img.LayerByDigest(ld.Digest)
		if err != nil {
			return platformImage{}, err
		}
		b := blob{layer: l, desc: ld}
		if i < len(m.Layers)-1 {
			b.base = base
		}
		p.blobs = append(p.blobs, b)
	}
	return p, nil
}

// allBlobs lists every blob once (platforms may share a base layer).
func (s *source) allBlobs() []blob {
	var groups [][]blob
	for _, p := range s.platforms {
		groups = append(groups, p.blobs)
	}
	return uniqueBlobs(groups)
}

// uniqueBlobs flattens groups of blobs, keeping the first of each digest.
func uniqueBlobs(groups [][]blob) []blob {
	seen := map[v1.Hash]bool{}
	var out []blob
	for _, g := range groups {
		for _, b := range g {
			if !seen[b.desc.Digest] {
				seen[b.desc.Digest] = true
				out = append(out, b)
			}
		}
	}
	return out
}

// totalSize is what blobs weigh.
func totalSize(blobs []blob) int64 {
	var n int64
	for _, b := range blobs {
		n += b.desc.Size
	}
	return n
}

// blobBytes is what the image's blobs weigh (each once).
func (s *source) blobBytes() int64 { return totalSize(s.allBlobs()) }

// size is what the image weighs: its blobs (each once) and manifests.
func (s *source) size() int64 {
	n := s.indexDesc.Size
	for _, b := range s.allBlobs() {
		n += b.desc.Size
	}
	for _, p := range s.platforms {
		n += p.desc.Size
	}
	return n
}

// verifyBlobs re-hashes every blob (manifests were checked when read).
func verifyBlobs(ctx context.Context, store *ocidir.Dir, blobs []blob, jobs int) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	var mu sync.Mutex
	var errs []error
	for _, b := range blobs {
		g.Go(func() error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err := verifyBlob(store.BlobPath(b.desc.Digest), b.desc); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", store.Path(), err))
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

func verifyBlob(path string, d v1.Descriptor) error {
	if d.Digest.Algorithm != "sha256" {
		return fmt.Errorf("blob %s: only sha256 digests are supported", d.Digest)
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &shared.NeedStep{Err: fmt.Errorf("blob %s (%s) is missing", d.Digest, d.MediaType), Fix: "rebuild with {release}"}
	}
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("reading blob %s: %w", d.Digest, err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != d.Digest.String() || n != d.Size {
		return &shared.NeedStep{Err: fmt.Errorf("blob %s is corrupt (content hashes to %s, %d bytes, descriptor says %d)", d.Digest, got, n, d.Size), Fix: "rebuild with {release}; nothing was pushed"}
	}
	return nil
}
