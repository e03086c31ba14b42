package push

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gantrybuild/gantry/targets/ocidir"
	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

// signature is a signature artifact the sign step left in the layout: an
// index.json entry named sha256-<hex>.sig (cosign's legacy signature
// manifest, pushed under that tag), sha256-<hex>.att (its legacy
// attestation manifest, likewise) or sha256-<hex> (the referrers tag
// fallback index, whose referrer manifests are pushed by digest).
type signature struct {
	tag       string
	kind      sigtag.Kind
	image     v1.Image   // the legacy signature manifest
	referrers []v1.Image // the referrer manifests (sigstore bundles)
	blobs     []blob
}

// readSignatures reads the signature artifacts named in index.json.
func readSignatures(store *ocidir.Dir, entries []v1.Descriptor) ([]signature, error) {
	var out []signature
	for _, d := range entries {
		tag := d.Annotations[sigtag.RefName]
		_, kind := sigtag.Parse(tag)
		sig := signature{tag: tag, kind: kind}
		switch kind {
		case sigtag.None:
			continue
		case sigtag.Legacy, sigtag.Attestation:
			img, err := store.Image(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("signature %s: %w", tag, err)
			}
			sig.image = img
		case sigtag.Referrers:
			idx, err := store.ImageIndex(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("signature %s: %w", tag, err)
			}
			im, err := idx.IndexManifest()
			if err != nil {
				return nil, fmt.Errorf("signature %s: %w", tag, err)
			}
			for _, c := range im.Manifests {
				img, err := store.Image(c.Digest)
				if err != nil {
					return nil, fmt.Errorf("signature %s: referrer %s: %w", tag, c.Digest, err)
				}
				sig.referrers = append(sig.referrers, img)
			}
		}
		for _, img := range append([]v1.Image{sig.image}, sig.referrers...) {
			if img == nil {
				continue
			}
			blobs, err := imageBlobs(img)
			if err != nil {
				return nil, fmt.Errorf("signature %s: %w", tag, err)
			}
			sig.blobs = append(sig.blobs, blobs...)
		}
		out = append(out, sig)
	}
	return out, nil
}

// imageBlobs lists a manifest's config and layers.
func imageBlobs(img v1.Image) ([]blob, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	cfg, err := partial.ConfigLayer(img)
	if err != nil {
		return nil, err
	}
	out := []blob{{layer: cfg, desc: m.Config}}
	for _, ld := range m.Layers {
		l, err := img.LayerByDigest(ld.Digest)
		if err != nil {
			return nil, err
		}
		out = append(out, blob{layer: l, desc: ld})
	}
	return out, nil
}

// signatureBlobs lists every signature blob of a source once.
func (s *source) signatureBlobs() []blob {
	var groups [][]blob
	for _, sig := range s.signatures {
		groups = append(groups, sig.blobs)
	}
	return uniqueBlobs(groups)
}

// signatureBytes is what the signature blobs weigh.
func (s *source) signatureBytes() int64 { return totalSize(s.signatureBlobs()) }

// pushSignatures uploads the signatures of each upload after its image is
// complete and before any tag moves: their blobs, the referrer manifests by
// digest (ggcr's writer adds each to the sha256-<hex> fallback tag, merged
// with referrers already there, unless the registry has the referrers
// API), and each legacy signature manifest under its sha256-<hex>.sig tag
// (replacing what that tag named).
func (s *session) pushSignatures(ctx context.Context, uploads []*upload, o *options, st *Stats) error {
	for _, t := range uploads {
		for _, b := range t.src.signatureBlobs() {
			if err := s.uploadJob(ctx, &blobJob{b: b, dests: []blobDest{{t: t}}}, o, st); err != nil {
				return err
			}
		}
		for _, sig := range t.src.signatures {
			for _, r := range sig.referrers {
				d, err := partial.Descriptor(r)
				if err != nil {
					return err
				}
				// Put unless the registry lists it already: the put is
				// what updates the fallback tag.
				if s.listed(ctx, t.repo, r, d.Digest) {
					continue
				}
				if err := s.put(ctx, t.repo.Digest(d.Digest.String()), r); err != nil {
					return fmt.Errorf("pushing %s to %s: putting signature bundle %s: %w", t.src.img.Name, t.repo, d.Digest, err)
				}
				s.count(st, func(st *Stats) { st.Manifests++ })
				o.progress.Event(Event{Kind: EventManifest, Image: t.src.img.Name, Repo: t.key, Digest: d.Digest, Size: d.Size})
			}
			if sig.image != nil {
				img, err := s.mergeLegacy(ctx, t.repo.Tag(sig.tag), sig.image)
				if err != nil {
					return fmt.Errorf("pushing %s to %s: merging signature %s with the registry's: %w", t.src.img.Name, t.repo, sig.tag, err)
				}
				if img == nil {
					continue // the registry has every signature already
				}
				d, err := partial.Descriptor(img)
				if err != nil {
					return err
				}
				if err := s.put(ctx, t.repo.Tag(sig.tag), img); err != nil {
					return fmt.Errorf("pushing %s to %s: putting signature %s: %w", t.src.img.Name, t.repo, sig.tag, err)
				}
				s.count(st, func(st *Stats) { st.Manifests++ })
				o.progress.Event(Event{Kind: EventTagged, Image: t.src.img.Name, Repo: t.key, Tag: sig.tag, Digest: d.Digest})
			}
		}
	}
	return nil
}

// mergeLegacy returns the legacy signature (or attestation) manifest to
// put under tag: ours when the tag is free; nil when the registry's already
// holds every one of our signatures (an unchanged repeat push, or a second
// signer's push that merged ours); else the registry's with our missing
// signatures appended, as cosign does, so that another signer's signatures
// are kept, not replaced. The appended layers were uploaded with the other
// signature blobs; the merged config is uploaded here.
func (s *session) mergeLegacy(ctx context.Context, tag name.Tag, ours v1.Image) (v1.Image, error) {
	cur, err := s.head(ctx, tag)
	if err != nil || cur == nil {
		return ours, err
	}
	want, err := ours.Digest()
	if err != nil {
		return nil, err
	}
	if cur.Digest == want {
		return nil, nil
	}
	rd, err := s.get(ctx, tag)
	if err != nil {
		return nil, err
	}
	theirs, err := rd.Image()
	if err != nil {
		return nil, err
	}
	tm, err := theirs.Manifest()
	if err != nil {
		return nil, err
	}
	om, err := ours.Manifest()
	if err != nil {
		return nil, err
	}
	if len(tm.Layers) == 0 || tm.Config.MediaType != om.Config.MediaType {
		return ours, nil // not a signature manifest we can add to: replace it
	}
	var adds []mutate.Addendum
	for _, l := range om.Layers {
		// Every signer's layer holds the same payload: the signature is in
		// the annotations, so a layer is a duplicate only with them.
		if slices.ContainsFunc(tm.Layers, func(d v1.Descriptor) bool { return d.Digest == l.Digest && maps.Equal(d.Annotations, l.Annotations) }) {
			continue
		}
		layer, err := ours.LayerByDigest(l.Digest)
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.Addendum{Layer: layer, MediaType: l.MediaType, Annotations: l.Annotations})
	}
	if len(adds) == 0 {
		return nil, nil
	}
	merged, err := mutate.Append(theirs, adds...)
	if err != nil {
		return nil, err
	}
	cfg, err := partial.ConfigLayer(merged)
	if err != nil {
		return nil, err
	}
	if err := s.upload(ctx, tag.Context(), cfg); err != nil {
		return nil, fmt.Errorf("uploading the merged config: %w", err)
	}
	return merged, nil
}

// listed reports whether the registry already lists the referrer manifest
// r (digest h) among its subject's referrers, so a second push of an
// unchanged layout puts nothing.
func (s *session) listed(ctx context.Context, repo name.Repository, r v1.Image, h v1.Hash) bool {
	m, err := r.Manifest()
	if err != nil || m.Subject == nil {
		return false
	}
	found := false
	err = s.policy.do(ctx, func(ctx context.Context) error {
		e, err := s.endpoint(ctx, repo.Registry)
		if err != nil {
			return err
		}
		idx, err := remote.Referrers(repo.Digest(m.Subject.Digest.String()), remote.Reuse(e.puller), remote.WithContext(ctx))
		if err != nil {
			return err
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return err
		}
		found = slices.ContainsFunc(im.Manifests, func(d v1.Descriptor) bool { return d.Digest == h })
		return nil
	})
	return err == nil && found
}
