package assemble

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// variantLevel orders the variants of the architectures that have levels,
// so that an image built for a lower level can serve a binary built for a
// higher one: amd64 "" = v1 < v2 < v3 < v4; arm64 "" = v8 = v8.0 < v8.1 < …
// < v9; arm v5 < v6 < v7 < v8, with an image's "" the least preferred match
// and a binary's "" meaning v7 (Go's default GOARM). ok is false for an
// architecture without levels or an unknown variant.
func variantLevel(arch, variant string, wanted bool) (level int, ok bool) {
	switch arch {
	case "amd64":
		if variant == "" {
			return 1, true
		}
		n, err := strconv.Atoi(strings.TrimPrefix(variant, "v"))
		return n, err == nil && strings.HasPrefix(variant, "v") && n >= 1 && n <= 4
	case "arm64":
		if variant == "" {
			return 800, true
		}
		major, minor, _ := strings.Cut(strings.TrimPrefix(variant, "v"), ".")
		m, err1 := strconv.Atoi(major)
		n, err2 := 0, error(nil)
		if minor != "" {
			n, err2 = strconv.Atoi(minor)
		}
		return m*100 + n, err1 == nil && err2 == nil && strings.HasPrefix(variant, "v") && m >= 8 && n < 100
	case "arm":
		if variant == "" {
			if wanted {
				return 7, true
			}
			return 0, true
		}
		n, err := strconv.Atoi(strings.TrimPrefix(variant, "v"))
		return n, err == nil && strings.HasPrefix(variant, "v") && n >= 5 && n <= 8
	}
	return 0, false
}

// compatible reports whether an image for have can serve a binary for want,
// and how well (higher is closer).
func compatible(have, want v1.Platform) (score int, ok bool) {
	if have.OS != want.OS || have.Architecture != want.Architecture {
		return 0, false
	}
	if have.Variant == want.Variant {
		return 1 << 20, true // exact beats any level
	}
	hl, hok := variantLevel(have.Architecture, have.Variant, false)
	wl, wok := variantLevel(want.Architecture, want.Variant, true)
	if !hok || !wok || hl > wl {
		return 0, false
	}
	return hl, true
}

// pickPlatform returns the image manifest in descs that best serves want:
// an exact platform match, else the compatible one with the highest variant
// level not above want's (first in order on ties). Descriptors that are not
// images or carry no platform are skipped.
func pickPlatform(descs []v1.Descriptor, want v1.Platform) (v1.Descriptor, bool) {
	best, bestScore := -1, -1
	for i, d := range descs {
		if d.Platform == nil || !(d.MediaType.IsImage() || d.MediaType == "") {
			continue
		}
		if s, ok := compatible(*d.Platform, want); ok && s > bestScore {
			best, bestScore = i, s
		}
	}
	if best < 0 {
		return v1.Descriptor{}, false
	}
	return descs[best], true
}

// windowsAmbiguity refuses to pick among windows images of one architecture
// built for different Windows versions (os.version): each runs on its own
// host build, so which one to build on is the user's choice.
func windowsAmbiguity(descs []v1.Descriptor, want v1.Platform, what string) error {
	if want.OS != "windows" || want.OSVersion != "" {
		return nil
	}
	var versions []string
	for _, d := range descs {
		if d.Platform == nil || !(d.MediaType.IsImage() || d.MediaType == "") {
			continue
		}
		if _, ok := compatible(*d.Platform, want); ok && !slices.Contains(versions, d.Platform.OSVersion) {
			versions = append(versions, d.Platform.OSVersion)
		}
	}
	if len(versions) < 2 {
		return nil
	}
	return fmt.Errorf("base %q has %s images for several Windows versions (os.version %s): name one by digest (<base>@sha256:…) or by a tag of one Windows release, one per host build you target", what, want, strings.Join(versions, ", "))
}

// noImageHint is what to do when a base has no image for want.
func noImageHint(want v1.Platform) string {
	if want.OS == "windows" {
		return ": a windows platform needs a Windows base (nanoserver or servercore): set Bases[\"windows\"] (GANTRY_BASES=windows=<base>)"
	}
	return ""
}

// describe lists descs for an error message: platform or ref name, and digest.
func describe(descs []v1.Descriptor) string {
	var parts []string
	for _, d := range descs {
		var what []string
		if r := d.Annotations[refNameAnnotation]; r != "" {
			what = append(what, fmt.Sprintf("%q", r))
		}
		switch {
		case d.Platform != nil:
			what = append(what, d.Platform.String())
		case d.MediaType.IsIndex():
			what = append(what, "index")
		case !d.MediaType.IsImage() && d.MediaType != "":
			what = append(what, string(d.MediaType))
		}
		parts = append(parts, strings.Join(append(what, d.Digest.String()), " "))
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

// platformOf returns the platform a config declares.
func platformOf(cfg *v1.ConfigFile) v1.Platform {
	return v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant, OSVersion: cfg.OSVersion}
}
