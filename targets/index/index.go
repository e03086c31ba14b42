package index

import (
	"encoding/json"
	"fmt"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gantrybuild/gantry/targets/platform"
)

// Manifest builds the raw image index over the platform manifests (each
// descriptor must carry its Platform), sorted by platform so the digest does
// not depend on build order. Descriptors keep only what an index needs.
func Manifest(manifests []v1.Descriptor, annotations map[string]string) ([]byte, error) {
	if len(manifests) == 0 {
		return nil, fmt.Errorf("no platform images to index: run the layout step first")
	}
	seen := map[string]v1.Hash{}
	var children []v1.Descriptor
	for _, m := range manifests {
		if m.Platform == nil {
			return nil, fmt.Errorf("manifest %s has no platform: it cannot go into a multi-arch index", m.Digest)
		}
		key := platform.String(*m.Platform)
		if d, ok := seen[key]; ok {
			if d == m.Digest {
				continue
			}
			return nil, fmt.Errorf("two different images for %s (%s and %s): build each platform once, or merge layouts of one revision", key, d, m.Digest)
		}
		seen[key] = m.Digest
		p := *m.Platform
		children = append(children, v1.Descriptor{MediaType: m.MediaType, Size: m.Size, Digest: m.Digest, Platform: &p})
	}
	sort.SliceStable(children, func(i, j int) bool {
		return platform.String(*children[i].Platform) < platform.String(*children[j].Platform)
	})
	idx := v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests:     children,
	}
	if len(annotations) > 0 {
		idx.Annotations = annotations
	}
	return json.Marshal(idx)
}

// LayoutEntries are the index.json descriptors of a layout holding the
// index (named <version>) and its platform manifests (named
// <version>-<arch>[<variant>]), so tools such as umoci and skopeo can
// address each of them.
func LayoutEntries(version string, index v1.Descriptor, manifests []v1.Descriptor) []v1.Descriptor {
	index.Annotations = map[string]string{RefName: RefNameFor(version, nil)}
	index.Platform = nil
	out := []v1.Descriptor{index}
	for _, m := range PlatformEntries(version, manifests) {
		out = append(out, m)
	}
	return out
}

// PlatformEntries names each platform manifest <version>-<arch>[<variant>].
func PlatformEntries(version string, manifests []v1.Descriptor) []v1.Descriptor {
	var out []v1.Descriptor
	for _, m := range manifests {
		p := *m.Platform
		out = append(out, v1.Descriptor{
			MediaType:   m.MediaType,
			Size:        m.Size,
			Digest:      m.Digest,
			Platform:    &p,
			Annotations: map[string]string{RefName: RefNameFor(version, &p)},
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		return platform.String(*out[i].Platform) < platform.String(*out[j].Platform)
	})
	return out
}
