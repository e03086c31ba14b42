// Package index builds the multi-arch OCI image index over the platform
// images of a layout, annotates it, and merges per-platform layouts built on
// different machines into one index.
package index

import (
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/platform"
)

// OCI annotation keys (image-spec annotations.md).
const (
	Created    = "org.opencontainers.image.created"
	Version    = "org.opencontainers.image.version"
	Revision   = "org.opencontainers.image.revision"
	SourceURL  = "org.opencontainers.image.source"
	Title      = "org.opencontainers.image.title"
	BaseName   = "org.opencontainers.image.base.name"
	BaseDigest = "org.opencontainers.image.base.digest"
	RefName    = "org.opencontainers.image.ref.name"
)

// Meta is what an image and its index are annotated with.
type Meta struct {
	Created    time.Time
	Version    string
	Revision   string
	Source     string
	Title      string
	BaseName   string
	BaseDigest string
}

// Annotations returns the OCI annotations for m, leaving out empty values.
func Annotations(m Meta) map[string]string {
	out := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			out[k] = v
		}
	}
	if !m.Created.IsZero() {
		out[Created] = m.Created.UTC().Format(time.RFC3339)
	}
	set(Version, m.Version)
	set(Revision, m.Revision)
	set(SourceURL, m.Source)
	set(Title, m.Title)
	set(BaseName, m.BaseName)
	set(BaseDigest, m.BaseDigest)
	return out
}

// RefNameFor is the org.opencontainers.image.ref.name that index.json gives
// the index (p == nil: the version) or a platform manifest
// ("<version>-<arch>[<variant>]"), made safe for the ref.name grammar.
func RefNameFor(version string, p *v1.Platform) string {
	ref := version
	if p != nil {
		ref += "-" + platform.Suffix(*p)
	}
	return sanitizeRef(ref)
}

// sanitizeRef replaces characters the ref.name grammar does not allow
// (A-Za-z0-9 and -._:@/+) with '-'.
func sanitizeRef(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		case strings.ContainsRune("-._:@/+", r):
			return r
		}
		return '-'
	}, s)
}
