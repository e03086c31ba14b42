package push

import (
	"encoding/json"

	"github.com/gantrybuild/gantry/targets/internal/atomicfile"
	"github.com/gantrybuild/gantry/targets/platform"
)

// Metadata is dist/metadata.json: every pushed reference with its digest,
// for the tools that come after a push (deploy, sign, attest).
type Metadata struct {
	Images []MetadataImage `json:"images"`
}

// MetadataImage is one image in one repository.
type MetadataImage struct {
	Name       string             `json:"name"`
	Repository string             `json:"repository"`
	Version    string             `json:"version"`
	Reference  string             `json:"reference"` // repository@digest of the index
	Digest     string             `json:"digest"`
	MediaType  string             `json:"mediaType"`
	Size       int64              `json:"size"`        // of the index manifest, as its descriptor says
	TotalSize  int64              `json:"contentSize"` // the index, its manifests and their blobs, each once
	Tags       []string           `json:"tags"`
	References []string           `json:"references"` // repository:tag for each tag
	Platforms  []MetadataPlatform `json:"platforms"`
}

// MetadataPlatform is one platform image of an index.
type MetadataPlatform struct {
	Platform  string   `json:"platform"`
	Reference string   `json:"reference"`
	Digest    string   `json:"digest"`
	MediaType string   `json:"mediaType"`
	Size      int64    `json:"size"`        // of the image manifest, as its descriptor says
	TotalSize int64    `json:"contentSize"` // the manifest, its config and its layers
	Tags      []string `json:"tags"`
}

// MetadataOf describes a result.
func MetadataOf(r *Result) Metadata {
	m := Metadata{Images: []MetadataImage{}}
	for _, p := range r.Images {
		img := MetadataImage{
			Name: p.Name, Repository: p.Repo.String(), Version: p.Version,
			Reference: p.Reference().String(), Digest: p.Index.Digest.String(),
			MediaType: string(p.Index.MediaType), Size: p.Index.Size, TotalSize: p.Size,
			Tags: nonNil(p.Tags), References: nonNil(p.TagReferences()),
		}
		for _, pl := range p.Platforms {
			img.Platforms = append(img.Platforms, MetadataPlatform{
				Platform:  platform.String(pl.Platform),
				Reference: p.Repo.Digest(pl.Manifest.Digest.String()).String(),
				Digest:    pl.Manifest.Digest.String(),
				MediaType: string(pl.Manifest.MediaType),
				Size:      pl.Manifest.Size,
				TotalSize: pl.Size,
				Tags:      nonNil(pl.Tags),
			})
		}
		m.Images = append(m.Images, img)
	}
	return m
}

// WriteMetadata writes r's metadata to path atomically: a temp file in the
// same directory, synced, then renamed over path.
func WriteMetadata(path string, r *Result) error {
	data, err := json.MarshalIndent(MetadataOf(r), "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteDurable(path, append(data, '\n'))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
