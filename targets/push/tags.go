package push

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/mod/semver"

	"github.com/gantrybuild/gantry/targets/internal/shared"
)

// Semver selects the tags a release version (vX.Y.Z) adds besides itself.
// Pre-releases, git describe versions, dirty trees and pseudo-versions add
// none: they get their version tag only.
type Semver uint8

const (
	SemverPatch  Semver = 1 << iota // v1.2.3 → 1.2.3
	SemverMinor                     // v1.2.3 → 1.2
	SemverMajor                     // v1.2.3 → 1 (never 0: a 0.x minor release may break the previous one)
	SemverLatest                    // latest, when no higher release is in the repository

	SemverAll  = SemverPatch | SemverMinor | SemverMajor | SemverLatest
	SemverNone = Semver(0)
)

var semverKinds = map[string]Semver{"patch": SemverPatch, "minor": SemverMinor, "major": SemverMajor, "latest": SemverLatest}

// ParseSemver reads the configuration's spelling: nil means all; "none"
// means none; otherwise any of patch, minor, major, latest.
func ParseSemver(kinds []string) (Semver, error) {
	if kinds == nil {
		return SemverAll, nil
	}
	var s Semver
	for _, k := range kinds {
		if k == "none" {
			continue
		}
		bit, ok := semverKinds[k]
		if !ok {
			return 0, fmt.Errorf("semver tag kind %q is unknown: use patch, minor, major, latest or none", k)
		}
		s |= bit
	}
	return s, nil
}

// maxTagLen is the distribution spec's limit.
const maxTagLen = shared.MaxTagLen

// validTag reports whether s may be a tag (distribution spec grammar).
func validTag(s string) bool { return shared.ValidTag(s) }

// VersionTag is the tag that names version: the version itself, except that
// build metadata's '+', which a tag cannot hold, is written '_' (as Helm
// does: '_' never appears in a semantic version, so it reads back
// unambiguously), and any other character a tag cannot hold is written '-'.
func VersionTag(version string) (string, error) {
	tag := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			return r
		case r == '+':
			return '_'
		}
		return '-'
	}, version)
	if !validTag(tag) {
		return "", fmt.Errorf("version %q cannot be a tag (%q): a tag is at most %d letters, digits, '_', '.' or '-', not starting with '.' or '-'", version, tag, maxTagLen)
	}
	return tag, nil
}

// IndexTags returns the tags the image index gets, in order and without
// duplicates: the version tag; for a release version the expansions
// selected by sv; then extra. existing are the tags already in the
// repository: latest is added only when none of them is a higher release,
// X.Y only when none is a higher X.Y.z, X only when none is a higher X.y.z.
func IndexTags(version string, sv Semver, existing, extra []string) ([]string, error) {
	vt, err := VersionTag(version)
	if err != nil {
		return nil, err
	}
	out := []string{vt}
	add := func(tags ...string) {
		for _, t := range tags {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	if v, ok := release(version); ok {
		majorMinor := strings.TrimPrefix(semver.MajorMinor(v), "v")
		major := strings.TrimPrefix(semver.Major(v), "v")
		if sv&SemverPatch != 0 {
			add(strings.TrimPrefix(semver.Canonical(v), "v"))
		}
		if sv&SemverMinor != 0 && isHighest(v, existing, semver.MajorMinor) {
			add(majorMinor)
		}
		if sv&SemverMajor != 0 && major != "0" && isHighest(v, existing, semver.Major) {
			add(major)
		}
		if sv&SemverLatest != 0 && isHighest(v, existing, nil) {
			add("latest")
		}
	}
	for _, t := range extra {
		if !validTag(t) {
			return nil, fmt.Errorf("tag %q is not a valid image tag: use letters, digits, '_', '.', '-' (at most %d, not starting with '.' or '-')", t, maxTagLen)
		}
	}
	add(extra...)
	return out, nil
}

// release returns v in canonical form ("v1.2.3", build metadata kept) when it
// is a release: a full semantic version, with or without the leading v, and
// no pre-release part. Tags written by VersionTag ('_' for '+') read back.
func release(s string) (string, bool) {
	v := strings.Replace(s, "_", "+", 1)
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	if !semver.IsValid(v) || semver.Prerelease(v) != "" {
		return "", false
	}
	if semver.Canonical(v)+semver.Build(v) != v { // v1 and v1.2 are shorthands, not releases
		return "", false
	}
	return v, true
}

// isHighest reports whether no release among tags is higher than v; with
// line set, only releases of v's line (same line(v)) count, so pushing
// v1.2.9 after v1.3.0 moves 1.2 but neither 1 nor latest.
func isHighest(v string, tags []string, line func(string) string) bool {
	for _, t := range tags {
		r, ok := release(t)
		if !ok || (line != nil && line(r) != line(v)) {
			continue
		}
		if semver.Compare(r, v) > 0 {
			return false
		}
	}
	return true
}
