package gitinfo

import (
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// describeAbbrev is the commit abbreviation length in describe-style
// versions. git describe prints 7 characters in repositories with fewer than
// 16384 objects and more in bigger ones; a fixed length keeps the version of a
// commit the same in every clone, shallow or full.
const describeAbbrev = 7

// shortLen is the abbreviation length of Info.Short and of pseudo-versions.
const shortLen = 12

// version derives the build version from git state: the exact tag on HEAD;
// else "<nearest>-<distance>-g<abbrev>"; else a Go pseudo-version. rev is the
// full commit SHA. A dirty tree appends "-dirty".
func version(tagOnHead, nearest string, distance int, rev string, commitTime time.Time, dirty bool) string {
	var v string
	switch {
	case tagOnHead != "":
		v = tagOnHead
	case nearest != "":
		v = nearest + "-" + strconv.Itoa(distance) + "-g" + abbrev(rev, describeAbbrev)
	default:
		v = module.PseudoVersion("", "", commitTime, abbrev(rev, shortLen))
	}
	if dirty {
		v += "-dirty"
	}
	return v
}

// isReleaseTag reports whether a tag names a full semantic version with a
// leading v ("v1.2.3", "v1.2.3-rc.1+meta"). Shorthands such as "v1" or "v1.2",
// often moving tags, do not count.
func isReleaseTag(tag string) bool {
	return semver.IsValid(tag) && semver.Canonical(tag)+semver.Build(tag) == tag
}

// highest returns the highest semver among tags ("" if none); equal versions
// that differ only in build metadata are ordered by name.
func highest(tags []string) string {
	best := ""
	for _, t := range tags {
		if best == "" {
			best = t
			continue
		}
		c := semver.Compare(t, best)
		if c > 0 || (c == 0 && strings.Compare(t, best) > 0) {
			best = t
		}
	}
	return best
}

func abbrev(rev string, n int) string {
	if len(rev) < n {
		return rev
	}
	return rev[:n]
}
