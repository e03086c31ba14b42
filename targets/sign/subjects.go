package sign

import (
	"context"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/platform"
	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

// subject is a manifest that gets signed or whose signatures are checked.
type subject struct {
	Name    string        // for messages: its ref name, or its index's name and its platform
	Desc    v1.Descriptor // MediaType, Size, Digest
	Created string        // its org.opencontainers.image.created annotation, dating its referrers
	Err     error         // its manifest could not be read (verify reports it)
}

// layoutRoots are the index.json entries to sign: image indexes and image
// manifests, not signature artifacts or other artifacts.
func layoutRoots(ij *v1.IndexManifest) []subject {
	var out []subject
	for _, d := range ij.Manifests {
		if sigtag.IsEntry(d) || d.ArtifactType != "" || !(d.MediaType.IsIndex() || d.MediaType.IsImage()) {
			continue
		}
		name := d.Annotations[sigtag.RefName]
		if name == "" {
			name = d.Digest.String()
		}
		out = append(out, subject{Name: name, Desc: v1.Descriptor{MediaType: d.MediaType, Size: d.Size, Digest: d.Digest}})
	}
	return out
}

// expand returns roots and, breadth first, every manifest their indexes
// list, each once (by digest; the first name wins), with its created date.
// A manifest that cannot be read carries its error in Err.
func expand(ctx context.Context, st store, roots []subject) []subject {
	var out []subject
	seen := map[v1.Hash]bool{}
	queue := append([]subject(nil), roots...)
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if seen[s.Desc.Digest] {
			continue
		}
		seen[s.Desc.Digest] = true
		raw, err := st.Manifest(ctx, s.Desc.Digest)
		if err != nil {
			s.Err = err
			out = append(out, s)
			continue
		}
		var m struct {
			Annotations map[string]string `json:"annotations"`
			Manifests   []v1.Descriptor   `json:"manifests"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			s.Err = fmt.Errorf("manifest %s: %w", s.Desc.Digest, err)
			out = append(out, s)
			continue
		}
		s.Created = m.Annotations[createdAnnotation]
		out = append(out, s)
		if !s.Desc.MediaType.IsIndex() {
			continue
		}
		for _, c := range m.Manifests {
			if !(c.MediaType.IsIndex() || c.MediaType.IsImage()) || c.ArtifactType != "" {
				continue
			}
			name := s.Name + " " + c.Digest.String()
			if c.Platform != nil {
				name = s.Name + " " + platform.String(*c.Platform)
			}
			queue = append(queue, subject{Name: name, Desc: v1.Descriptor{MediaType: c.MediaType, Size: c.Size, Digest: c.Digest}})
		}
	}
	return out
}
