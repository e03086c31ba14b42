package push

import (
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Result is what a push published.
type Result struct {
	Images []Pushed
	Stats  Stats
}

// Pushed is one image in one repository.
type Pushed struct {
	Name      string
	Repo      name.Repository
	Version   string
	Revision  string        // the commit the layout was built from; "" outside git
	Index     v1.Descriptor // the image index, by digest
	Tags      []string      // tags naming the index
	Size      int64         // index, manifests and blobs (each once)
	Platforms []PushedPlatform
}

// PushedPlatform is one platform image of a pushed index.
type PushedPlatform struct {
	Platform v1.Platform
	Manifest v1.Descriptor
	Tags     []string // per-platform tags naming the manifest
	Size     int64    // manifest, config and layers
}

// Stats counts what a push did.
type Stats struct {
	Blobs            int   // blob pushes needed (a blob counts once per repository)
	Uploaded         int   // blobs whose bytes were sent
	Mounted          int   // blobs mounted from another repository
	Existed          int   // blobs already there
	Manifests        int   // manifests and indexes put
	ManifestsExisted int   // manifests and indexes already there
	TagsMoved        int   // tags put
	TagsKept         int   // tags that already named the right content
	Requests         int64 // HTTP requests sent, retries included
	BytesSent        int64 // request bodies sent, retries included
	Retries          int64 // requests and uploads tried again
	Duration         time.Duration
}

// Reference is the pushed index by digest: repo@sha256:….
func (p Pushed) Reference() name.Digest { return p.Repo.Digest(p.Index.Digest.String()) }

// TagReferences are the index's tags in full: repo:tag.
func (p Pushed) TagReferences() []string {
	out := make([]string, 0, len(p.Tags))
	for _, t := range p.Tags {
		out = append(out, p.Repo.Tag(t).String())
	}
	return out
}
