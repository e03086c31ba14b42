package sign

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/gantrybuild/gantry/targets/internal/shared"
	"github.com/gantrybuild/gantry/targets/ocidir"
	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

// maxSmall bounds the manifests, payloads and bundles read into memory.
const maxSmall = 4 << 20

// store reads what signing and verification need from an OCI layout or a
// registry repository; every read is checked against its digest.
type store interface {
	// Describe names the store in messages.
	Describe() string
	// Manifest returns the manifest with digest h.
	Manifest(ctx context.Context, h v1.Hash) ([]byte, error)
	// Blob returns the small blob d (a payload, a bundle).
	Blob(ctx context.Context, d v1.Descriptor) ([]byte, error)
	// Tag resolves tag; ok is false when nothing has that tag.
	Tag(ctx context.Context, tag string) (d v1.Descriptor, ok bool, err error)
	// Referrers lists the manifests whose subject is h.
	Referrers(ctx context.Context, h v1.Hash) ([]v1.Descriptor, error)
}

var (
	_ store = (*layoutStore)(nil)
	_ store = (*remoteStore)(nil)
)

// layoutStore reads an OCI layout: tags are index.json ref names; the
// referrers of a manifest are those its fallback index lists, and
// index.json entries whose subject it is.
type layoutStore struct {
	dir   *ocidir.Dir
	index *v1.IndexManifest
}

// openLayout opens an existing layout for reading, and fails with a hint
// when dir is not one (ocidir.Open would create it).
func openLayout(dir string) (*ocidir.Dir, error) {
	if err := ocidir.Exists(dir); err != nil {
		return nil, &shared.NeedStep{Err: err, Fix: "run {index} (or {release}) first"}
	}
	return ocidir.Open(dir)
}

func newLayoutStore(d *ocidir.Dir) (*layoutStore, error) {
	ij, err := d.IndexJSON()
	if err != nil {
		return nil, err
	}
	return &layoutStore{dir: d, index: ij}, nil
}

func (s *layoutStore) Describe() string { return "layout " + s.dir.Path() }

func (s *layoutStore) Manifest(_ context.Context, h v1.Hash) ([]byte, error) {
	return s.read(h)
}

func (s *layoutStore) Blob(_ context.Context, d v1.Descriptor) ([]byte, error) {
	if d.Size > maxSmall {
		return nil, fmt.Errorf("blob %s is %d bytes: too large for a signature", d.Digest, d.Size)
	}
	return s.read(d.Digest)
}

// read reads a blob whole and checks it against h.
func (s *layoutStore) read(h v1.Hash) ([]byte, error) {
	f, err := os.Open(s.dir.BlobPath(h))
	if err != nil {
		return nil, fmt.Errorf("blob %s is not in %s", h, s.dir.Path())
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSmall+1))
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", h, err)
	}
	if len(b) > maxSmall {
		return nil, fmt.Errorf("blob %s is larger than %d bytes: not a manifest or signature", h, maxSmall)
	}
	if got, _, _ := v1.SHA256(bytes.NewReader(b)); got != h {
		return nil, fmt.Errorf("blob %s in %s is corrupt (content hashes to %s)", h, s.dir.Path(), got)
	}
	return b, nil
}

func (s *layoutStore) Tag(_ context.Context, tag string) (v1.Descriptor, bool, error) {
	for _, d := range s.index.Manifests {
		if d.Annotations[sigtag.RefName] == tag {
			return d, true, nil
		}
	}
	return v1.Descriptor{}, false, nil
}

func (s *layoutStore) Referrers(ctx context.Context, h v1.Hash) ([]v1.Descriptor, error) {
	var out []v1.Descriptor
	seen := map[v1.Hash]bool{}
	if d, ok, _ := s.Tag(ctx, sigtag.Fallback(h)); ok {
		raw, err := s.read(d.Digest)
		if err != nil {
			return nil, err
		}
		var im v1.IndexManifest
		if err := json.Unmarshal(raw, &im); err != nil {
			return nil, fmt.Errorf("referrers index %s: %w", d.Digest, err)
		}
		for _, m := range im.Manifests {
			if !seen[m.Digest] {
				seen[m.Digest] = true
				out = append(out, m)
			}
		}
	}
	// Layouts written by other tools (oras) list referrers in index.json.
	for _, d := range s.index.Manifests {
		if seen[d.Digest] || !d.MediaType.IsImage() || d.ArtifactType == "" {
			continue
		}
		raw, err := s.read(d.Digest)
		if err != nil {
			continue
		}
		var m v1.Manifest
		if json.Unmarshal(raw, &m) == nil && m.Subject != nil && m.Subject.Digest == h {
			seen[d.Digest] = true
			out = append(out, d)
		}
	}
	return out, nil
}

// remoteStore reads a repository of a registry.
type remoteStore struct {
	repo name.Repository
	opts []remote.Option
}

func (s *remoteStore) Describe() string { return s.repo.Name() }

func (s *remoteStore) Manifest(ctx context.Context, h v1.Hash) ([]byte, error) {
	desc, err := remote.Get(s.repo.Digest(h.String()), append(s.opts, remote.WithContext(ctx))...)
	if err != nil {
		return nil, fmt.Errorf("fetching manifest %s from %s: %w", h, s.repo, err)
	}
	if got, _, _ := v1.SHA256(bytes.NewReader(desc.Manifest)); got != h {
		return nil, fmt.Errorf("manifest %s from %s hashes to %s", h, s.repo, got)
	}
	return desc.Manifest, nil
}

func (s *remoteStore) Blob(ctx context.Context, d v1.Descriptor) ([]byte, error) {
	if d.Size > maxSmall {
		return nil, fmt.Errorf("blob %s is %d bytes: too large for a signature", d.Digest, d.Size)
	}
	l, err := remote.Layer(s.repo.Digest(d.Digest.String()), append(s.opts, remote.WithContext(ctx))...)
	if err != nil {
		return nil, fmt.Errorf("fetching blob %s from %s: %w", d.Digest, s.repo, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, fmt.Errorf("fetching blob %s from %s: %w", d.Digest, s.repo, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxSmall+1))
	if err != nil {
		return nil, fmt.Errorf("fetching blob %s from %s: %w", d.Digest, s.repo, err)
	}
	if got, _, _ := v1.SHA256(bytes.NewReader(b)); got != d.Digest {
		return nil, fmt.Errorf("blob %s from %s hashes to %s", d.Digest, s.repo, got)
	}
	return b, nil
}

func (s *remoteStore) Tag(ctx context.Context, tag string) (v1.Descriptor, bool, error) {
	d, err := remote.Head(s.repo.Tag(tag), append(s.opts, remote.WithContext(ctx))...)
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return v1.Descriptor{}, false, nil
	}
	if err != nil {
		return v1.Descriptor{}, false, fmt.Errorf("looking up %s:%s: %w", s.repo, tag, err)
	}
	return *d, true, nil
}

func (s *remoteStore) Referrers(ctx context.Context, h v1.Hash) ([]v1.Descriptor, error) {
	idx, err := remote.Referrers(s.repo.Digest(h.String()), append(s.opts, remote.WithContext(ctx))...)
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s@%s: %w", s.repo, h, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	refs := slices.Clone(im.Manifests)
	for i, d := range refs {
		// The OCI spec lists a referrer under its manifest's artifactType;
		// some registries (ggcr's own among them) give the config's media
		// type instead. Read what such a manifest says.
		if d.ArtifactType != "" && d.ArtifactType != emptyJSONMediaType {
			continue
		}
		raw, err := s.Manifest(ctx, d.Digest)
		if err != nil {
			return nil, err
		}
		var m struct {
			ArtifactType string `json:"artifactType"`
		}
		if json.Unmarshal(raw, &m) == nil && m.ArtifactType != "" {
			refs[i].ArtifactType = m.ArtifactType
		}
	}
	return refs, nil
}

// emptyJSONMediaType is the OCI empty config, which artifacts use.
const emptyJSONMediaType = "application/vnd.oci.empty.v1+json"
