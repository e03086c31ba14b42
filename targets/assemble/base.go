package assemble

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const (
	refNameAnnotation   = "org.opencontainers.image.ref.name"
	containerdImageName = "io.containerd.image.name"
)

// registryBase resolves a registry reference to the platform's image.
// base.name is the repository and tag as written (Docker Hub as docker.io,
// "latest" when no tag was given); base.digest is the platform manifest's.
func registryBase(ctx context.Context, spec string, platform v1.Platform, o *baseOptions) (Base, error) {
	if !strings.ContainsAny(spec, "/:@") {
		// A bare word is far more likely a mistyped keyword than a Docker Hub
		// image: require those to be spelled out.
		return Base{}, badSpec(spec, "not a known base name; write a Docker Hub image in full, e.g. docker.io/library/"+spec)
	}
	ref, err := name.ParseReference(spec)
	if err != nil {
		return Base{}, badSpec(spec, err.Error())
	}
	if isLoopback(ref.Context().RegistryStr()) {
		if ref, err = name.ParseReference(spec, name.Insecure); err != nil {
			return Base{}, badSpec(spec, err.Error())
		}
	}
	ropts := append([]remote.Option{remote.WithContext(ctx)}, o.remote...)
	if o.auth != nil {
		ropts = append(ropts, remote.WithAuth(o.auth))
	} else if o.keychain != nil {
		ropts = append(ropts, remote.WithAuthFromKeychain(o.keychain))
	}
	desc, err := remote.Get(ref, ropts...)
	if err != nil {
		return Base{}, fmt.Errorf("fetching base %q: %w", spec, err)
	}
	b := Base{Name: registryBaseName(spec, ref)}
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return Base{}, fmt.Errorf("reading base %q: %w", spec, err)
		}
		b.Image, b.Digest, err = imageFromIndex(idx, platform, spec)
		if err != nil {
			return Base{}, err
		}
	case desc.MediaType.IsImage():
		if b.Image, err = desc.Image(); err != nil {
			return Base{}, fmt.Errorf("reading base %q: %w", spec, err)
		}
		if err := checkPlatform(b.Image, platform, spec); err != nil {
			return Base{}, err
		}
		b.Digest = desc.Digest
	default:
		return Base{}, fmt.Errorf("base %q is a %s, not an image or an image index", spec, desc.MediaType)
	}
	return b, nil
}

func isLoopback(registry string) bool {
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// registryBaseName is "<registry>/<repository>:<tag>" for what the user wrote.
func registryBaseName(spec string, ref name.Reference) string {
	repo := ref.Context().Name()
	if r, ok := strings.CutPrefix(repo, name.DefaultRegistry+"/"); ok {
		repo = "docker.io/" + r
	}
	switch r := ref.(type) {
	case name.Tag:
		return repo + ":" + r.TagStr()
	case name.Digest:
		before, _, _ := strings.Cut(spec, "@")
		if strings.LastIndex(before, ":") > strings.LastIndex(before, "/") {
			if t, err := name.NewTag(before); err == nil {
				return repo + ":" + t.TagStr()
			}
		}
	}
	return repo
}

// imageFromIndex picks the image for platform from idx.
func imageFromIndex(idx v1.ImageIndex, platform v1.Platform, what string) (v1.Image, v1.Hash, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("reading base %q: %w", what, err)
	}
	d, ok := pickPlatform(im.Manifests, platform)
	if !ok {
		return nil, v1.Hash{}, fmt.Errorf("base %q has no image for %s (it has: %s)%s", what, platform, describe(im.Manifests), noImageHint(platform))
	}
	if err := windowsAmbiguity(im.Manifests, platform, what); err != nil {
		return nil, v1.Hash{}, err
	}
	img, err := idx.Image(d.Digest)
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("reading base %q for %s: %w", what, platform, err)
	}
	return img, d.Digest, nil
}

// checkPlatform refuses a single-platform base built for another platform
// (a config without os/architecture is accepted).
func checkPlatform(img v1.Image, platform v1.Platform, what string) error {
	cfg, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("reading base %q config: %w", what, err)
	}
	have := platformOf(cfg)
	if have.OS == "" && have.Architecture == "" {
		return nil
	}
	if _, ok := compatible(have, platform); !ok {
		return fmt.Errorf("base %q is an image for %s, not %s: use a multi-platform base or one for %s%s", what, have, platform, platform, noImageHint(platform))
	}
	return nil
}

// ociBase resolves "oci:<dir>[:<ref>]" (split at the first colon, as skopeo
// does, so the ref may hold colons and the dir may not). ref matches an
// index.json entry's org.opencontainers.image.ref.name or digest; without
// ref the layout must have one entry, or only platform images (as ko and
// Gantry write) among which the platform is picked. base.name is recorded
// only when the entry names a full registry reference, never the directory
// (a machine-specific path would make the image differ between clones).
func ociBase(spec string, platform v1.Platform) (Base, error) {
	dir, ref, _ := strings.Cut(strings.TrimPrefix(spec, "oci:"), ":")
	if dir == "" {
		return Base{}, badSpec(spec, "missing the OCI layout directory after \"oci:\"")
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return Base{}, fmt.Errorf("base %q: reading OCI layout %s: %w", spec, dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return Base{}, fmt.Errorf("base %q: reading %s/index.json: %w", spec, dir, err)
	}
	candidates := im.Manifests
	if ref != "" {
		candidates = nil
		for _, d := range im.Manifests {
			if d.Digest.String() == ref || d.Annotations[refNameAnnotation] == ref {
				candidates = append(candidates, d)
			}
		}
	}
	var d v1.Descriptor
	switch {
	case len(candidates) == 1:
		d = candidates[0]
	case len(candidates) == 0 && ref != "":
		return Base{}, fmt.Errorf("base %q: no manifest %q in OCI layout %s (it has: %s)", spec, ref, dir, describe(im.Manifests))
	case len(candidates) == 0:
		return Base{}, fmt.Errorf("base %q: OCI layout %s is empty", spec, dir)
	default:
		var ok bool
		if d, ok = pickPlatform(candidates, platform); !ok {
			return Base{}, fmt.Errorf("base %q: no single image for %s in OCI layout %s: name one as oci:%s:<ref name or digest> (it has: %s)%s", spec, platform, dir, dir, describe(candidates), noImageHint(platform))
		}
		if err := windowsAmbiguity(candidates, platform, spec); err != nil {
			return Base{}, err
		}
	}
	b := Base{Name: ociBaseName(d), Digest: d.Digest}
	switch {
	case d.MediaType.IsIndex():
		sub, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return Base{}, fmt.Errorf("base %q: %w", spec, err)
		}
		if b.Image, b.Digest, err = imageFromIndex(sub, platform, spec); err != nil {
			return Base{}, err
		}
	case d.MediaType.IsImage():
		if b.Image, err = idx.Image(d.Digest); err != nil {
			return Base{}, fmt.Errorf("base %q: %w", spec, err)
		}
		if err := checkPlatform(b.Image, platform, spec); err != nil {
			return Base{}, err
		}
	default:
		return Base{}, fmt.Errorf("base %q: %s in %s is a %s, not an image or an image index", spec, d.Digest, dir, d.MediaType)
	}
	return b, nil
}

// ociBaseName returns the registry reference a layout entry carries
// (containerd's image name, or a ref name that is a full reference), or "".
func ociBaseName(d v1.Descriptor) string {
	for _, k := range []string{containerdImageName, refNameAnnotation} {
		v := d.Annotations[k]
		if !strings.Contains(v, "/") {
			continue // a bare tag such as "3.20" names nothing outside the layout
		}
		if ref, err := name.ParseReference(v, name.StrictValidation); err == nil {
			return registryBaseName(v, ref)
		}
	}
	return ""
}
