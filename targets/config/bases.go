package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/platform"
)

// linuxOnlyBases are the base keywords that only make linux images.
var linuxOnlyBases = []string{"static", "scratch"}

// BaseFor is the base of t's image for p: the most specific entry of Bases
// ("os/arch/variant", then "os/arch", then "os"), else Base.
func (t ResolvedImage) BaseFor(p v1.Platform) string {
	return baseFor(t.Base, t.Bases, p)
}

// BinDirFor is where the binary goes in t's image for p: BinDir, but ""
// (assemble's C:\app) on Windows when BinDir is the linux default.
func (t ResolvedImage) BinDirFor(p v1.Platform) string {
	if platform.IsWindows(p) && t.BinDir == DefaultBinDir {
		return ""
	}
	return t.BinDir
}

// UserFor is the user of t's image for p: User, but "" (the base's user)
// on Windows when User is the linux default.
func (t ResolvedImage) UserFor(p v1.Platform) string {
	if platform.IsWindows(p) && t.User == DefaultUser {
		return ""
	}
	return t.User
}

func baseFor(base string, bases map[string]string, p v1.Platform) string {
	for _, k := range []string{platform.String(p), p.OS + "/" + p.Architecture, p.OS} {
		if b, ok := bases[k]; ok {
			return b
		}
	}
	return base
}

// checkBases normalises the keys of img.Bases and checks that every windows
// platform gets a base that can be a Windows image.
func checkBases(img *Image, plats []v1.Platform) error {
	if err := checkBaseSpec("Base", img.Base); err != nil {
		return err
	}
	if len(img.Bases) > 0 {
		norm := make(map[string]string, len(img.Bases))
		for k, v := range img.Bases {
			key, err := baseKey(k)
			if err != nil {
				return err
			}
			if strings.TrimSpace(v) == "" {
				return fmt.Errorf("Bases[%q] is empty: name a base image, e.g. an oci:<dir> layout or a registry reference", k)
			}
			if err := checkBaseSpec(fmt.Sprintf("Bases[%q]", k), strings.TrimSpace(v)); err != nil {
				return err
			}
			norm[key] = strings.TrimSpace(v)
		}
		img.Bases = norm
	}
	for _, p := range plats {
		if !platform.IsWindows(p) {
			continue
		}
		b := baseFor(img.Base, img.Bases, p)
		if b == "" || slices.Contains(linuxOnlyBases, b) {
			if b == "" {
				b = DefaultBase
			}
			return fmt.Errorf("platform %q needs a Windows base, and base %q is linux-only: set Bases[\"windows\"] in the image's config (or GANTRY_BASES=windows=<registry>/windows/nanoserver:ltsc2022) to a Windows base from a registry or an oci: layout, or make Base an index that has windows images", platform.String(p), b)
		}
	}
	return nil
}

// baseKey normalises a Bases key: an OS ("windows") or a platform
// ("windows/arm64").
func baseKey(k string) (string, error) {
	k = strings.ToLower(strings.TrimSpace(k))
	if k == platform.Linux || k == platform.Windows {
		return k, nil
	}
	p, err := platform.Parse(k)
	if err != nil {
		return "", fmt.Errorf("Bases key %q is not an OS (linux, windows) or a platform such as windows/amd64: %w", k, err)
	}
	return platform.String(p), nil
}

// parseBases reads GANTRY_BASES: comma-separated key=base pairs, such as
// "windows=oci:bases/nanoserver,windows/arm64=<registry>/nanoserver:ltsc2025".
func parseBases(s string) (map[string]string, error) {
	pairs, err := splitList("GANTRY_BASES", s)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, pair := range pairs {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("GANTRY_BASES=%q: %q is not <os or platform>=<base>, e.g. windows=oci:bases/nanoserver", s, pair)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

// baseSpecHelp lists the forms a base may take.
const baseSpecHelp = `valid: "static" (default), "scratch", "oci:<dir>[:<ref>]" or a registry reference such as "cgr.dev/chainguard/static:latest"`

// checkBaseSpec checks the form of a base before anything is built, so a
// mistyped base fails at once rather than after compiling (whether the
// image exists is found out when the layout step resolves it).
func checkBaseSpec(field, spec string) error {
	switch {
	case slices.Contains(linuxOnlyBases, spec):
		return nil
	case strings.HasPrefix(spec, "oci:"):
		if dir, _, _ := strings.Cut(strings.TrimPrefix(spec, "oci:"), ":"); dir == "" {
			return fmt.Errorf("%s %q is missing the OCI layout directory after \"oci:\" (set GANTRY_BASE or the image's %s; %s)", field, spec, field, baseSpecHelp)
		}
		return nil
	case !strings.ContainsAny(spec, "/:@"):
		return fmt.Errorf("%s %q is not a known base name: write a Docker Hub image in full, e.g. docker.io/library/%s (set GANTRY_BASE or the image's %s; %s)", field, spec, spec, field, baseSpecHelp)
	}
	if _, err := name.ParseReference(spec); err != nil {
		return fmt.Errorf("%s %q is not a valid image reference: %v (set GANTRY_BASE or the image's %s; %s)", field, spec, err, field, baseSpecHelp)
	}
	return nil
}
