package index

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/gantrybuild/gantry/targets/internal/shared"
	"github.com/gantrybuild/gantry/targets/ocidir"
	"github.com/gantrybuild/gantry/targets/platform"
	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

// Source is a platform image found in a layout.
type Source struct {
	Layout     string
	Descriptor v1.Descriptor // with Platform
	Image      v1.Image
	Revision   string // org.opencontainers.image.revision of the manifest
	Version    string // org.opencontainers.image.version of the manifest
}

// Platforms lists the platform images a layout holds: the image manifests
// named in index.json, and the children of image indexes named there.
func Platforms(dir string) ([]Source, error) {
	if err := ocidir.Exists(dir); err != nil {
		return nil, fmt.Errorf("%w: pass the dist/oci/<name> directory of a layout build", err)
	}
	root, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("reading layout %s: %w", dir, err)
	}
	var out []Source
	seen := map[v1.Hash]bool{}
	var walk func(idx v1.ImageIndex) error
	walk = func(idx v1.ImageIndex) error {
		im, err := idx.IndexManifest()
		if err != nil {
			return err
		}
		for _, d := range im.Manifests {
			switch {
			case sigtag.IsEntry(d): // a signature, not an image
			case d.MediaType.IsIndex():
				child, err := idx.ImageIndex(d.Digest)
				if err != nil {
					return err
				}
				if err := walk(child); err != nil {
					return err
				}
			case d.MediaType.IsImage():
				if seen[d.Digest] {
					continue
				}
				seen[d.Digest] = true
				src, err := source(dir, idx, d)
				if err != nil {
					return err
				}
				out = append(out, src)
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		return nil, fmt.Errorf("reading layout %s: %w", dir, err)
	}
	return out, nil
}

func source(dir string, idx v1.ImageIndex, d v1.Descriptor) (Source, error) {
	img, err := idx.Image(d.Digest)
	if err != nil {
		return Source{}, err
	}
	m, err := img.Manifest()
	if err != nil {
		return Source{}, err
	}
	if d.Platform == nil {
		cf, err := img.ConfigFile()
		if err != nil {
			return Source{}, err
		}
		p := cf.Platform()
		if p == nil || p.OS == "" {
			return Source{}, fmt.Errorf("image %s has no platform in its config", d.Digest)
		}
		d.Platform = p
	}
	norm, err := platform.Parse(platform.String(*d.Platform))
	if err != nil {
		return Source{}, fmt.Errorf("image %s: %w", d.Digest, err)
	}
	// A windows image's host build, which runtimes match on.
	norm.OSVersion, norm.OSFeatures = d.Platform.OSVersion, d.Platform.OSFeatures
	return Source{
		Layout:     dir,
		Descriptor: v1.Descriptor{MediaType: d.MediaType, Size: d.Size, Digest: d.Digest, Platform: &norm},
		Image:      img,
		Revision:   m.Annotations[Revision],
		Version:    m.Annotations[Version],
	}, nil
}

// Merge copies the platform images of several layouts into out and returns
// their descriptors. All must come from one revision; a platform present
// twice must be the same image.
func Merge(ctx context.Context, out *ocidir.Dir, from []string) ([]Source, error) {
	var all []Source
	for _, dir := range from {
		srcs, err := Platforms(dir)
		if err != nil {
			return nil, err
		}
		if len(srcs) == 0 {
			return nil, &shared.NeedStep{Err: fmt.Errorf("layout %s holds no platform image", dir), Fix: "run {layout} there first"}
		}
		all = append(all, srcs...)
	}
	if err := sameRevision(all); err != nil {
		return nil, err
	}
	var merged []Source
	byPlatform := map[string]Source{}
	for _, s := range all {
		key := platform.String(*s.Descriptor.Platform)
		if prev, ok := byPlatform[key]; ok {
			if prev.Descriptor.Digest != s.Descriptor.Digest {
				return nil, fmt.Errorf("%s is built twice with different digests (%s in %s, %s in %s): merge one layout per platform", key, prev.Descriptor.Digest, prev.Layout, s.Descriptor.Digest, s.Layout)
			}
			continue
		}
		byPlatform[key] = s
		if filepath.Clean(s.Layout) != filepath.Clean(out.Path()) {
			if _, err := out.WriteImage(ctx, s.Image); err != nil {
				return nil, fmt.Errorf("copying %s from %s: %w", key, s.Layout, err)
			}
		}
		merged = append(merged, s)
	}
	return merged, nil
}

func sameRevision(srcs []Source) error {
	var first Source
	for _, s := range srcs {
		if first.Layout == "" {
			first = s
			continue
		}
		if s.Revision == first.Revision && s.Version != first.Version {
			return fmt.Errorf("layouts come from different builds of revision %q: %s has version %q, %s has version %q; a build job's work tree had uncommitted changes (a -dirty version): keep build jobs from changing tracked files", s.Revision, first.Layout, first.Version, s.Layout, s.Version)
		}
		if s.Revision != first.Revision || s.Version != first.Version {
			return fmt.Errorf("layouts come from different builds: %s has revision %q version %q, %s has revision %q version %q; build every platform from the same commit", first.Layout, first.Revision, first.Version, s.Layout, s.Revision, s.Version)
		}
	}
	return nil
}

// Select returns, in the order of want, the merged platform images of the
// configured platforms, so that a merged index lists its manifests as a
// single-runner build does (its digest depends on that order). A configured
// platform no layout holds is an error; a platform not configured (a
// per-platform build job building every image for its platform) is left out.
func Select(srcs []Source, want []v1.Platform) ([]Source, error) {
	byPlatform := map[string]Source{}
	for _, s := range srcs {
		byPlatform[platform.String(*s.Descriptor.Platform)] = s
	}
	var out []Source
	var missing []string
	for _, p := range want {
		key := platform.String(p)
		s, ok := byPlatform[key]
		if !ok {
			missing = append(missing, key)
			continue
		}
		out = append(out, s)
	}
	if len(missing) > 0 {
		var have []string
		for _, s := range srcs {
			have = append(have, platform.String(*s.Descriptor.Platform))
		}
		return nil, fmt.Errorf("no merged layout holds %s (they hold %s): every configured platform needs a build job, and the merge job needs every build job's layout", strings.Join(missing, ", "), strings.Join(have, ", "))
	}
	return out, nil
}

// CheckSameBuild refuses layouts built from another commit than revision,
// or, unless allowDirty, with another version than version: a build job
// whose work tree had uncommitted changes writes a "-dirty" version, which
// the merge job, checked out clean, must not publish. An empty revision
// (no git) checks nothing.
func CheckSameBuild(srcs []Source, revision, version string, allowDirty bool) error {
	if revision == "" {
		return nil
	}
	for _, s := range srcs {
		p := platform.String(*s.Descriptor.Platform)
		if s.Revision != revision {
			return fmt.Errorf("layout %s holds %s built from revision %q, but this checkout is at %q: run the merge job on the commit the build jobs built", s.Layout, p, s.Revision, revision)
		}
		if !allowDirty && s.Version != version {
			return fmt.Errorf("layout %s holds %s built as version %q, but this checkout is version %q: its build job's work tree had uncommitted changes (or other tags); keep build jobs from changing tracked files, or set GANTRY_ALLOW_DIRTY=1 in every job", s.Layout, p, s.Version, version)
		}
	}
	return nil
}
