package push

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/mod/semver"

	"github.com/gantrybuild/gantry/targets/platform"
)

// tagRef is one tag to move: to the index or to a platform manifest.
type tagRef struct {
	tag      string
	desc     v1.Descriptor
	manifest remote.Taggable
	floating bool // X.Y, X, latest (and their per-platform tags): they move by design
}

// plan works out an upload's tags and what they name now, and refuses an
// immutable tag that names other content, before anything is uploaded.
func (s *session) plan(ctx context.Context, t *upload, o *options) error {
	src := t.src
	// The repository's tags decide X.Y, X and latest; with many tags to
	// move, one listing also saves asking about each.
	_, isRelease := release(src.version)
	needList := isRelease && o.semver&(SemverMinor|SemverMajor|SemverLatest) != 0
	var existing []string
	listErr := errNotListed
	if needList || (1+len(o.extra))*(1+len(src.platforms)) > 4 {
		existing, listErr = s.listTags(ctx, t.repo)
		if listErr != nil && needList {
			return fmt.Errorf("pushing %s to %s: listing tags (to decide on X.Y, X and latest): %w", src.img.Name, t.repo, listErr)
		}
	}
	indexTags, err := IndexTags(src.version, o.semver, existing, o.extra)
	if err != nil {
		return fmt.Errorf("image %s: %w", src.img.Name, err)
	}
	floating := floatingTags(src.version)
	for _, tag := range indexTags {
		t.tags = append(t.tags, tagRef{tag: tag, desc: src.indexDesc, manifest: src.index, floating: floating[tag]})
	}
	suffixes := map[string]string{}
	for _, p := range src.platforms {
		sfx := o.arch.Suffix(*p.desc.Platform)
		if other, ok := suffixes[sfx]; ok && o.arch.Enabled() {
			return fmt.Errorf("image %s: platforms %s and %s would both get per-platform tags ending in -%s: choose other names with GANTRY_ARCH_TAGS (e.g. amd64/v3=x86_64-v3) or turn them off with GANTRY_ARCH_TAGS=none",
				src.img.Name, other, platform.String(*p.desc.Platform), sfx)
		}
		suffixes[sfx] = platform.String(*p.desc.Platform)
		ptags, err := o.arch.PlatformTags(indexTags, *p.desc.Platform)
		if err != nil {
			return fmt.Errorf("image %s: %w", src.img.Name, err)
		}
		for i, tag := range ptags {
			t.tags = append(t.tags, tagRef{tag: tag, desc: p.desc, manifest: p.image, floating: floating[indexTags[i]]})
		}
	}

	// What do our tags name now? Listing said which exist (no listing:
	// ask about each).
	t.existing = map[string]v1.Hash{}
	var mu sync.Mutex
	err = forEach(ctx, o.jobs, t.tags, func(ctx context.Context, tr tagRef) error {
		if listErr == nil && !slices.Contains(existing, tr.tag) {
			return nil
		}
		d, err := s.head(ctx, t.repo.Tag(tr.tag))
		if err != nil {
			return fmt.Errorf("pushing %s to %s: checking tag %s: %w", src.img.Name, t.repo, tr.tag, err)
		}
		if d != nil {
			mu.Lock()
			t.existing[tr.tag] = d.Digest
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !o.immutable {
		return nil
	}
	var clash []string
	for _, tr := range t.tags {
		if cur, ok := t.existing[tr.tag]; ok && !tr.floating && cur != tr.desc.Digest {
			clash = append(clash, fmt.Sprintf("%s names %s, not %s", tr.tag, cur, tr.desc.Digest))
		}
	}
	if len(clash) > 0 {
		return fmt.Errorf("pushing %s to %s: immutable tags are on and %s: release a new version instead (or turn GANTRY_IMMUTABLE_TAGS off to move them); nothing was uploaded",
			src.img.Name, t.repo, strings.Join(clash, "; "))
	}
	return nil
}

// indexTags are the tags that name the index.
func (t *upload) indexTags() []string {
	var out []string
	for _, tr := range t.tags {
		if tr.desc.Digest == t.src.indexDesc.Digest {
			out = append(out, tr.tag)
		}
	}
	return out
}

// floatingTags are the tags of a release version that move to each newer
// release by design: X.Y, X and latest.
func floatingTags(version string) map[string]bool {
	out := map[string]bool{"latest": true}
	if v, ok := release(version); ok {
		out[strings.TrimPrefix(semver.MajorMinor(v), "v")] = true
		out[strings.TrimPrefix(semver.Major(v), "v")] = true
	}
	return out
}

// errNotListed stands for a listing not made.
var errNotListed = errors.New("tags not listed")
