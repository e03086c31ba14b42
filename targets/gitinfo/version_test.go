package gitinfo

import (
	"regexp"
	"testing"
	"time"
)

// refName is the character set of the OCI org.opencontainers.image.ref.name
// annotation.
var refName = regexp.MustCompile(`^[A-Za-z0-9._:@/+-]+$`)

func TestVersion(t *testing.T) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	when := time.Date(2024, 5, 1, 14, 3, 4, 0, time.FixedZone("CEST", 2*60*60))
	tests := []struct {
		name      string
		tagOnHead string
		nearest   string
		distance  int
		dirty     bool
		want      string
	}{
		{"tag on HEAD", "v1.2.3", "", 0, false, "v1.2.3"},
		{"tag on HEAD, dirty", "v1.2.3", "", 0, true, "v1.2.3-dirty"},
		{"prerelease tag on HEAD", "v2.0.0-rc.1", "", 0, false, "v2.0.0-rc.1"},
		{"build metadata tag, dirty", "v1.0.0+meta", "", 0, true, "v1.0.0+meta-dirty"},
		{"tag on HEAD wins over nearest", "v1.2.3", "v1.2.2", 4, false, "v1.2.3"},
		{"after a tag", "", "v1.2.3", 4, false, "v1.2.3-4-g0123456"},
		{"after a tag, dirty", "", "v1.2.3", 4, true, "v1.2.3-4-g0123456-dirty"},
		{"no tag", "", "", 0, false, "v0.0.0-20240501120304-0123456789ab"},
		{"no tag, dirty", "", "", 0, true, "v0.0.0-20240501120304-0123456789ab-dirty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := version(tt.tagOnHead, tt.nearest, tt.distance, rev, when, tt.dirty)
			if got != tt.want {
				t.Errorf("version: got %q, want %q", got, tt.want)
			}
			if !refName.MatchString(got) {
				t.Errorf("version %q is not a valid OCI ref.name", got)
			}
		})
	}
}

func TestIsReleaseTag(t *testing.T) {
	tests := []struct {
		tag  string
		want bool
	}{
		{"v1.2.3", true},
		{"v0.0.1-alpha.1", true},
		{"v1.0.0+build.5", true},
		{"v1.0.0-rc.1+build.5", true},
		{"v1", false},
		{"v1.2", false},
		{"1.2.3", false},
		{"v01.2.3", false},
		{"release-1.2.3", false},
		{"latest", false},
	}
	for _, tt := range tests {
		if got := isReleaseTag(tt.tag); got != tt.want {
			t.Errorf("isReleaseTag(%q): got %v, want %v", tt.tag, got, tt.want)
		}
	}
}

func TestHighest(t *testing.T) {
	tests := []struct {
		tags []string
		want string
	}{
		{nil, ""},
		{[]string{"v1.0.0"}, "v1.0.0"},
		{[]string{"v1.9.0", "v1.10.0", "v1.10.0-rc.1"}, "v1.10.0"},
		{[]string{"v1.0.0+b", "v1.0.0+a"}, "v1.0.0+b"},
		{[]string{"v1.0.0+a", "v1.0.0+b"}, "v1.0.0+b"},
	}
	for _, tt := range tests {
		if got := highest(tt.tags); got != tt.want {
			t.Errorf("highest(%q): got %q, want %q", tt.tags, got, tt.want)
		}
	}
}
