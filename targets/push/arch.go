package push

import (
	"fmt"
	"regexp"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ArchScheme names the per-platform tags, <tag>-<suffix>, for teams that
// pull one architecture by tag. The zero value is the "go" scheme: amd64,
// arm64, armv7, amd64v3 (GOARCH and variant, as the layout names them).
type ArchScheme struct {
	off   bool
	names map[string]string // "arch" or "arch/variant" → suffix
}

// unameNames are the `uname -m` spellings.
var unameNames = map[string]string{
	"amd64":   "x86_64",
	"arm64":   "aarch64",
	"arm/v5":  "armv5l",
	"arm/v6":  "armv6l",
	"arm/v7":  "armv7l",
	"386":     "i686",
	"ppc64le": "ppc64le",
	"s390x":   "s390x",
	"riscv64": "riscv64",
}

var suffixRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,40}$`)

// ParseArchScheme reads the configuration's spelling: "" or "go", "uname",
// "none", or comma-separated pairs such as "amd64=x86_64,arm/v7=armhf" that
// override the go names (a platform with a variant falls back to its
// architecture's name followed by the variant).
func ParseArchScheme(s string) (ArchScheme, error) {
	switch s {
	case "", "go":
		return ArchScheme{}, nil
	case "none":
		return ArchScheme{off: true}, nil
	case "uname":
		return ArchScheme{names: unameNames}, nil
	}
	names := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || !suffixRE.MatchString(v) {
			return ArchScheme{}, fmt.Errorf("arch tags %q: %q is not arch=suffix (e.g. amd64=x86_64,arm64=aarch64); or use go, uname or none (GANTRY_ARCH_TAGS)", s, pair)
		}
		names[k] = v
	}
	return ArchScheme{names: names}, nil
}

// Enabled reports whether platforms get their own tags.
func (a ArchScheme) Enabled() bool { return !a.off }

// Suffix is the per-platform tag suffix of p, without the dash.
// A platform of another OS than linux starts with it: windows-amd64.
func (a ArchScheme) Suffix(p v1.Platform) string {
	os := ""
	if p.OS != "" && p.OS != "linux" {
		os = p.OS + "-"
	}
	if n, ok := a.names[p.Architecture+"/"+p.Variant]; ok && p.Variant != "" {
		return os + n
	}
	if n, ok := a.names[p.Architecture]; ok {
		return os + n + p.Variant
	}
	return os + p.Architecture + p.Variant
}

// PlatformTags returns <tag>-<suffix of p> for every index tag.
func (a ArchScheme) PlatformTags(indexTags []string, p v1.Platform) ([]string, error) {
	if a.off {
		return nil, nil
	}
	suffix := a.Suffix(p)
	out := make([]string, 0, len(indexTags))
	for _, t := range indexTags {
		tag := t + "-" + suffix
		if !validTag(tag) {
			return nil, fmt.Errorf("per-platform tag %q is not a valid tag (longer than %d?): shorten the version or tags, or set GANTRY_ARCH_TAGS=none", tag, maxTagLen)
		}
		out = append(out, tag)
	}
	return out, nil
}
