package sbom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gantrybuild/gantry/targets/ocidir"
	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

const (
	emptyMediaType    = "application/vnd.oci.empty.v1+json"
	emptyJSON         = "{}"
	createdAnnotation = "org.opencontainers.image.created"
)

var emptyDescriptor = v1.Descriptor{
	MediaType: emptyMediaType,
	Size:      int64(len(emptyJSON)),
	Digest:    v1.Hash{Algorithm: "sha256", Hex: "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
}

// artifact is a document attached to a manifest as an OCI 1.1 referrer.
type artifact struct {
	name          string        // the subject's ref name, or its index's and its platform
	subject       v1.Descriptor // MediaType, Size, Digest
	artifactType  string        // also the media type of its one layer
	predicateType string        // the in-toto predicate type it attests as
	created       string        // the subject's created time
	content       []byte
}

// referrerManifest is the OCI 1.1 manifest that attaches a: artifactType,
// the empty config, one layer (the document), subject; annotated with its
// predicate type and the subject's created time.
func referrerManifest(a artifact, layer v1.Descriptor) ([]byte, error) {
	ann := map[string]string{sigtag.PredicateType: a.predicateType}
	if a.created != "" {
		ann[createdAnnotation] = a.created
	}
	return json.Marshal(v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  a.artifactType,
		Config:        emptyDescriptor,
		Layers:        []v1.Descriptor{layer},
		Subject:       &v1.Descriptor{MediaType: a.subject.MediaType, Size: a.subject.Size, Digest: a.subject.Digest},
		Annotations:   ann,
	})
}

// writeReferrer writes a's document, the empty config and its referrer
// manifest, and returns the manifest's descriptor as a referrers list
// gives it (artifactType and annotations included).
func writeReferrer(d *ocidir.Dir, a artifact) (v1.Descriptor, error) {
	lh, lsize, err := d.WriteBlob(bytes.NewReader(a.content), v1.Hash{})
	if err != nil {
		return v1.Descriptor{}, err
	}
	if _, _, err := d.WriteBlob(strings.NewReader(emptyJSON), emptyDescriptor.Digest); err != nil {
		return v1.Descriptor{}, err
	}
	raw, err := referrerManifest(a, v1.Descriptor{MediaType: types.MediaType(a.artifactType), Size: lsize, Digest: lh})
	if err != nil {
		return v1.Descriptor{}, err
	}
	mh, msize, err := d.WriteBlob(bytes.NewReader(raw), v1.Hash{})
	if err != nil {
		return v1.Descriptor{}, err
	}
	ann := map[string]string{sigtag.PredicateType: a.predicateType}
	if a.created != "" {
		ann[createdAnnotation] = a.created
	}
	return v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: msize, Digest: mh, ArtifactType: a.artifactType, Annotations: ann}, nil
}

// mergeReferrers is the referrers list of a manifest after adding added to
// old: a referrer of an artifactType being added is replaced (a rebuild
// with another Gantry writes a new SBOM); every other referrer (signatures,
// attestations, other tools' artifacts) stays. Sorted by digest, as ggcr's
// tag fallback sorts it.
func mergeReferrers(old, added []v1.Descriptor) []v1.Descriptor {
	replaced := map[string]bool{}
	for _, a := range added {
		replaced[a.ArtifactType] = true
	}
	var out []v1.Descriptor
	seen := map[v1.Hash]bool{}
	for _, r := range append(slices.Clone(old), added...) {
		if seen[r.Digest] {
			continue
		}
		if replaced[r.ArtifactType] && !slices.ContainsFunc(added, func(a v1.Descriptor) bool { return a.Digest == r.Digest }) {
			continue
		}
		seen[r.Digest] = true
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b v1.Descriptor) int { return strings.Compare(a.Digest.String(), b.Digest.String()) })
	return out
}

// attach writes the referrers tag fallback index of each subject in
// added, merged with the one index.json names, and returns the new
// index.json: its images in their order, then every signature entry sorted
// by name.
func attach(d *ocidir.Dir, ij *v1.IndexManifest, added map[v1.Hash][]v1.Descriptor) ([]v1.Descriptor, error) {
	var images, sigs []v1.Descriptor
	byName := map[string]v1.Descriptor{}
	for _, e := range ij.Manifests {
		if sigtag.IsEntry(e) {
			byName[e.Annotations[sigtag.RefName]] = e
		} else {
			images = append(images, e)
		}
	}
	for h, descs := range added {
		tag := sigtag.Fallback(h)
		var old []v1.Descriptor
		if e, ok := byName[tag]; ok {
			idx, err := d.ImageIndex(e.Digest)
			if err != nil {
				return nil, fmt.Errorf("reading the referrers of %s: %w", h, err)
			}
			im, err := idx.IndexManifest()
			if err != nil {
				return nil, fmt.Errorf("reading the referrers of %s: %w", h, err)
			}
			old = im.Manifests
		}
		raw, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: mergeReferrers(old, descs)})
		if err != nil {
			return nil, err
		}
		ih, isize, err := d.WriteBlob(bytes.NewReader(raw), v1.Hash{})
		if err != nil {
			return nil, err
		}
		byName[tag] = v1.Descriptor{MediaType: types.OCIImageIndex, Size: isize, Digest: ih, Annotations: map[string]string{sigtag.RefName: tag}}
	}
	for _, e := range byName {
		sigs = append(sigs, e)
	}
	slices.SortFunc(sigs, func(a, b v1.Descriptor) int {
		return strings.Compare(a.Annotations[sigtag.RefName], b.Annotations[sigtag.RefName])
	})
	return append(images, sigs...), nil
}
