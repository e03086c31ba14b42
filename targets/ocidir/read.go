package ocidir

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// maxManifestSize bounds the manifests and configs read into memory.
const maxManifestSize = 32 << 20

// Image returns the image whose manifest has digest h, read from the layout.
//
// Unlike ggcr's layout.Path.Image, h need not be listed in index.json (the
// platform images of a multi-arch index are not), and every blob is checked
// against its digest as it is read: a corrupt layer fails its read.
func (d *Dir) Image(h v1.Hash) (v1.Image, error) {
	raw, mt, err := d.readManifest(h)
	if err != nil {
		return nil, err
	}
	if mt != types.OCIManifestSchema1 && mt != types.DockerManifestSchema2 {
		return nil, fmt.Errorf("reading image %s from %q: it is a %s, not an image manifest", h, d.path, mt)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("reading image %s from %q: %w", h, d.path, err)
	}
	return partial.CompressedToImage(&layoutImage{d: d, raw: raw, mediaType: mt, manifest: m})
}

// ImageIndex returns the image index whose manifest has digest h.
// Like Image, h need not be listed in index.json.
func (d *Dir) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	raw, mt, err := d.readManifest(h)
	if err != nil {
		return nil, err
	}
	if mt != types.OCIImageIndex && mt != types.DockerManifestList {
		return nil, fmt.Errorf("reading image index %s from %q: it is a %s, not an image index", h, d.path, mt)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("reading image index %s from %q: %w", h, d.path, err)
	}
	return &layoutIndex{d: d, raw: raw, digest: h, mediaType: mt, manifest: im}, nil
}

// readManifest reads a manifest blob and tells its media type from its
// mediaType field (or, when it has none, from its shape).
func (d *Dir) readManifest(h v1.Hash) ([]byte, types.MediaType, error) {
	raw, err := d.readSmallBlob(h)
	if err != nil {
		return nil, "", err
	}
	var probe struct {
		MediaType types.MediaType `json:"mediaType"`
		Manifests json.RawMessage `json:"manifests"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, "", fmt.Errorf("reading manifest %s from %q: %w", h, d.path, err)
	}
	switch {
	case probe.MediaType != "":
		return raw, probe.MediaType, nil
	case probe.Manifests != nil:
		return raw, types.OCIImageIndex, nil
	default:
		return raw, types.OCIManifestSchema1, nil
	}
}

// readSmallBlob reads a whole manifest or config blob and checks its digest.
func (d *Dir) readSmallBlob(h v1.Hash) ([]byte, error) {
	if err := checkHash(h); err != nil {
		return nil, err
	}
	f, err := os.Open(d.BlobPath(h))
	if err != nil {
		return nil, fmt.Errorf("reading blob %s from %q: %w", h, d.path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading blob %s from %q: %w", h, d.path, err)
	}
	if len(b) > maxManifestSize {
		return nil, fmt.Errorf("reading blob %s from %q: larger than %d bytes: not a manifest or config", h, d.path, maxManifestSize)
	}
	if got, _, _ := sha256Of(bytes.NewReader(b)); got != h {
		return nil, fmt.Errorf("blob %s in %q is corrupt (content hashes to %s)", h, d.path, got)
	}
	return b, nil
}

var _ partial.CompressedImageCore = (*layoutImage)(nil)

// layoutImage is an image read lazily from the layout.
type layoutImage struct {
	d         *Dir
	raw       []byte
	mediaType types.MediaType
	manifest  *v1.Manifest
}

func (i *layoutImage) MediaType() (types.MediaType, error) { return i.mediaType, nil }
func (i *layoutImage) RawManifest() ([]byte, error)        { return i.raw, nil }
func (i *layoutImage) Manifest() (*v1.Manifest, error)     { return i.manifest.DeepCopy(), nil }

func (i *layoutImage) RawConfigFile() ([]byte, error) {
	return i.d.readSmallBlob(i.manifest.Config.Digest)
}

func (i *layoutImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h == i.manifest.Config.Digest {
		return &layoutBlob{d: i.d, desc: i.manifest.Config}, nil
	}
	for _, desc := range i.manifest.Layers {
		if desc.Digest == h {
			return &layoutBlob{d: i.d, desc: desc}, nil
		}
	}
	return nil, fmt.Errorf("layer %s is not in image", h)
}

var _ partial.CompressedLayer = (*layoutBlob)(nil)

// layoutBlob is a layer (or config) read from the layout.
type layoutBlob struct {
	d    *Dir
	desc v1.Descriptor
}

func (b *layoutBlob) Digest() (v1.Hash, error)            { return b.desc.Digest, nil }
func (b *layoutBlob) Size() (int64, error)                { return b.desc.Size, nil }
func (b *layoutBlob) MediaType() (types.MediaType, error) { return b.desc.MediaType, nil }
func (b *layoutBlob) Descriptor() (*v1.Descriptor, error) { return b.desc.DeepCopy(), nil }

// Compressed streams the blob, failing the read that reaches its end if the
// content does not match the descriptor.
func (b *layoutBlob) Compressed() (io.ReadCloser, error) {
	if err := checkHash(b.desc.Digest); err != nil {
		return nil, err
	}
	f, err := os.Open(b.d.BlobPath(b.desc.Digest))
	if err != nil {
		return nil, fmt.Errorf("reading blob %s from %q: %w", b.desc.Digest, b.d.path, err)
	}
	return &verifyingReader{f: f, h: sha256.New(), desc: b.desc}, nil
}

// verifyingReader checks size and digest when it reaches EOF.
type verifyingReader struct {
	f    *os.File
	h    hash.Hash
	n    int64
	desc v1.Descriptor
}

func (r *verifyingReader) Read(p []byte) (int, error) {
	n, err := r.f.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	if err == io.EOF {
		if r.n != r.desc.Size {
			return n, fmt.Errorf("blob %s: read %d bytes, descriptor says %d", r.desc.Digest, r.n, r.desc.Size)
		}
		if got := sha256Hash(r.h); got != r.desc.Digest {
			return n, fmt.Errorf("blob %s is corrupt (content hashes to %s)", r.desc.Digest, got)
		}
	}
	return n, err
}

func (r *verifyingReader) Close() error { return r.f.Close() }

var _ v1.ImageIndex = (*layoutIndex)(nil)

// layoutIndex is an image index read from the layout; its children are
// looked up in the layout too.
type layoutIndex struct {
	d         *Dir
	raw       []byte
	digest    v1.Hash
	mediaType types.MediaType
	manifest  *v1.IndexManifest
}

func (i *layoutIndex) MediaType() (types.MediaType, error)       { return i.mediaType, nil }
func (i *layoutIndex) Digest() (v1.Hash, error)                  { return i.digest, nil }
func (i *layoutIndex) Size() (int64, error)                      { return int64(len(i.raw)), nil }
func (i *layoutIndex) RawManifest() ([]byte, error)              { return i.raw, nil }
func (i *layoutIndex) IndexManifest() (*v1.IndexManifest, error) { return i.manifest.DeepCopy(), nil }
func (i *layoutIndex) Image(h v1.Hash) (v1.Image, error)         { return i.d.Image(h) }
func (i *layoutIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	return i.d.ImageIndex(h)
}
