// Package platform maps OCI platforms (os/arch[/variant]) to and from the Go
// toolchain's GOOS/GOARCH/GOARM/GOARM64/GOAMD64 settings.
//
// Images are linux or windows (amd64 and arm64, the architectures Windows
// containers run on). Variants are normalised the way containerd does, so
// the platform a user writes, the one Gantry puts in an index and the one a
// runtime asks for compare equal:
//
//   - amd64: v2, v3, v4 set GOAMD64; "v1" is Go's default and normalises to
//     no variant.
//   - arm64: v8.1 … v8.9 and v9.0 … v9.5 set GOARM64; "v8" and "v8.0" are
//     Go's default and normalise to no variant. containerd and BuildKit
//     write plain "linux/arm64", and ggcr's remote.WithPlatform treats an
//     empty variant as "any", so a base image listed as arm64 or arm64/v8
//     still matches.
//   - arm: v5, v6, v7 set GOARM=5, 6, 7. Plain "linux/arm" means
//     "linux/arm/v7", as containerd and buildx read it: left to the
//     toolchain, GOARM would default to the level of the machine that built
//     the toolchain (6 for Go's linux-armv6l download), and one source would
//     give other binaries on other machines.
//
// Other architectures take no variant: GO386, GOPPC64, GOMIPS and GORISCV64
// have no OCI spelling a runtime would select, so Gantry builds them with
// the toolchain's defaults.
package platform

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The GOOS values Gantry builds images for.
const (
	Linux   = "linux"
	Windows = "windows"
)

// windowsArchs are the architectures Windows containers run on.
var windowsArchs = []string{"amd64", "arm64"}

// Parse parses "os/arch[/variant]" into a normalised v1.Platform (see the
// package doc): "linux/arm64/v8" and "linux/arm64" give the same value, with
// no variant, as do "linux/amd64/v1" and "linux/amd64". It checks syntax and
// variants only; Check checks the pair against the toolchain.
func Parse(s string) (v1.Platform, error) {
	in := strings.TrimSpace(s)
	parts := strings.Split(strings.ToLower(in), "/")
	if len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") || strings.ContainsAny(in, " \t\n") {
		return v1.Platform{}, fmt.Errorf("platform %q: want os/arch[/variant], e.g. \"linux/arm64\" or \"linux/arm/v7\"", s)
	}
	p := v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	n, err := Normalize(p)
	if err != nil {
		return v1.Platform{}, fmt.Errorf("platform %q: %w", s, err)
	}
	return n, nil
}

// Normalize returns p with its variant in canonical form, or an error if p
// is neither linux nor windows/amd64 or windows/arm64, or its variant is
// unknown for its architecture. Fields other than OS, Architecture and
// Variant are dropped.
func Normalize(p v1.Platform) (v1.Platform, error) {
	goos, arch := strings.ToLower(p.OS), strings.ToLower(p.Architecture)
	switch {
	case goos != Linux && goos != Windows:
		return v1.Platform{}, fmt.Errorf("images are linux or windows, not %q: use \"linux/%s\"", p.OS, p.Architecture)
	case arch == "":
		return v1.Platform{}, fmt.Errorf("architecture is empty: use e.g. \"linux/amd64\"")
	case goos == Windows && !slices.Contains(windowsArchs, arch):
		return v1.Platform{}, fmt.Errorf("windows images are amd64 or arm64 (what Windows containers run on), not %q: use \"windows/amd64\" or \"windows/arm64\"", p.Architecture)
	}
	v := strings.ToLower(p.Variant)
	if arch == "arm" && v == "" {
		// As containerd and buildx read it. Left to the toolchain, GOARM
		// would default to what the machine that built the toolchain
		// supports (6 for the official linux/armv6l download), so the same
		// source would give other binaries on other machines.
		v = "v7"
	}
	lvl, ok := levelOf(arch)
	switch {
	case v == "":
	case !ok:
		return v1.Platform{}, fmt.Errorf("%s/%s takes no variant, not %q: use \"%s/%s\"", goos, arch, p.Variant, goos, arch)
	case slices.Contains(lvl.defaults, v):
		v = ""
	case !slices.Contains(lvl.variants, v):
		return v1.Platform{}, fmt.Errorf("unknown %s variant %q (valid: %s)", arch, p.Variant, strings.Join(lvl.valid(), ", "))
	}
	return v1.Platform{OS: goos, Architecture: arch, Variant: v}, nil
}

// ParseList parses a comma-separated list of platforms, trimming spaces and
// dropping duplicates (after normalisation) while keeping the given order.
func ParseList(s string) ([]v1.Platform, error) {
	var out []v1.Platform
	seen := map[string]bool{}
	for i, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, fmt.Errorf("platform list %q: element %d is empty: separate platforms with single commas", s, i+1)
		}
		p, err := Parse(f)
		if err != nil {
			return nil, err
		}
		if k := String(p); !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// String formats p as os/arch[/variant], the inverse of Parse.
func String(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// GoEnv returns the environment that builds for p: GOOS and GOARCH, plus
// GOAMD64 or GOARM64 (always, the default spelled out, so an inherited value
// cannot change a binary behind its platform label) or GOARM (when p has a
// variant). p should be normalised; an unknown variant is passed through
// for the go command to reject.
func GoEnv(p v1.Platform) []string {
	env := []string{"GOOS=" + p.OS, "GOARCH=" + p.Architecture}
	lvl, ok := levelOf(p.Architecture)
	if !ok {
		return env
	}
	v := p.Variant
	if v == "" || slices.Contains(lvl.defaults, v) {
		v = lvl.def
	}
	if v == "" {
		return env
	}
	if p.Architecture == "arm" {
		v = strings.TrimPrefix(v, "v")
	}
	return append(env, lvl.env+"="+v)
}

// LevelVars lists the Go settings that select an architecture level. A
// build environment should drop inherited values of these and add GoEnv's.
func LevelVars() []string {
	return []string{"GO386", "GOAMD64", "GOARM", "GOARM64", "GOMIPS", "GOMIPS64", "GOPPC64", "GORISCV64", "GOWASM"}
}

// Suffix is p's architecture and variant for tags: "amd64", "arm64",
// "armv7", "amd64v3", "arm64v8.2"; a windows platform starts with its OS,
// so that it never names the linux image: "windows-amd64".
func Suffix(p v1.Platform) string {
	if p.OS != Linux && p.OS != "" {
		return p.OS + "-" + p.Architecture + p.Variant
	}
	return p.Architecture + p.Variant
}

// FileSuffix is p for file names: "linux_amd64", "linux_arm_v7",
// "linux_arm64_v8.2", "windows_amd64".
func FileSuffix(p v1.Platform) string {
	s := p.OS + "_" + p.Architecture
	if p.Variant != "" {
		s += "_" + p.Variant
	}
	return s
}

// Exe is the file name extension of p's executables: ".exe" for windows
// (which runs nothing else), "" otherwise.
func Exe(p v1.Platform) string {
	if p.OS == Windows {
		return ".exe"
	}
	return ""
}

// IsWindows reports whether p is a windows platform.
func IsWindows(p v1.Platform) bool { return p.OS == Windows }

// Supported lists the linux and windows platforms of the toolchain goBin
// ("" means "go"), one per GOOS/GOARCH pair and without variants, from one
// run of `go tool dist list`.
func Supported(ctx context.Context, goBin string) ([]v1.Platform, error) {
	if goBin == "" {
		goBin = "go"
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, goBin, "tool", "dist", "list")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing platforms with %s tool dist list: %w: %s", goBin, err, strings.TrimSpace(stderr.String()))
	}
	var ps []v1.Platform
	for line := range strings.Lines(string(out)) {
		goos, arch, ok := strings.Cut(strings.TrimSpace(line), "/")
		if ok && (goos == Linux || goos == Windows && slices.Contains(windowsArchs, arch)) {
			ps = append(ps, v1.Platform{OS: goos, Architecture: arch})
		}
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("%s tool dist list printed no linux platforms: %q", goBin, out)
	}
	return ps, nil
}

// FirstClass reports whether p's os/arch pair is one every toolchain Gantry
// supports has: Go's first-class linux ports (386, amd64, arm, arm64) and
// windows/amd64 and windows/arm64, so that checking it needs no `go tool
// dist list`.
func FirstClass(p v1.Platform) bool {
	switch p.Architecture {
	case "386", "arm":
		return p.OS == Linux
	case "amd64", "arm64":
		return p.OS == Linux || p.OS == Windows
	}
	return false
}

// Check returns an error naming p and listing the valid platforms when p's
// os/arch pair is not in supported. The error names the Go version of the
// running program (runtime.Version()), which under mage is the toolchain
// that compiled the magefile; pass that toolchain's list.
func Check(p v1.Platform, supported []v1.Platform) error {
	for _, s := range supported {
		if s.OS == p.OS && s.Architecture == p.Architecture {
			return nil
		}
	}
	valid := make([]string, len(supported))
	for i, s := range supported {
		valid[i] = String(s)
	}
	return fmt.Errorf("platform %q is not supported by %s (valid: %s)", String(p), runtime.Version(), strings.Join(valid, ", "))
}

// level is how an architecture's variant selects a Go setting.
type level struct {
	env      string   // the Go setting: GOAMD64
	def      string   // its value for no variant; "" leaves it to the toolchain
	defaults []string // spellings of Go's default, which normalise to no variant
	variants []string // the other accepted variants
}

// valid lists the variants for error messages.
func (l level) valid() []string {
	return slices.Concat(l.defaults, l.variants)
}

func levelOf(arch string) (level, bool) {
	switch arch {
	case "amd64":
		return level{env: "GOAMD64", def: "v1", defaults: []string{"v1"}, variants: []string{"v2", "v3", "v4"}}, true
	case "arm64":
		return level{env: "GOARM64", def: "v8.0", defaults: []string{"v8", "v8.0"}, variants: arm64Variants()}, true
	case "arm":
		return level{env: "GOARM", variants: []string{"v5", "v6", "v7"}}, true
	}
	return level{}, false
}

// arm64Variants are the GOARM64 levels go1.26 accepts beyond v8.0.
func arm64Variants() []string {
	var vs []string
	for i := 1; i <= 9; i++ {
		vs = append(vs, fmt.Sprintf("v8.%d", i))
	}
	for i := 0; i <= 5; i++ {
		vs = append(vs, fmt.Sprintf("v9.%d", i))
	}
	return vs
}
