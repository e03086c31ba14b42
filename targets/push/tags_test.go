package push

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestIndexTags(t *testing.T) {
	tests := []struct {
		name     string
		version  string
		semver   Semver
		existing []string
		extra    []string
		want     []string
	}{
		{"release, empty repository", "v1.2.3", SemverAll, nil, nil, []string{"v1.2.3", "1.2.3", "1.2", "1", "latest"}},
		{"patch of an older minor", "v1.2.3", SemverAll, []string{"v1.3.0", "latest"}, nil, []string{"v1.2.3", "1.2.3", "1.2"}},
		{"patch of an older major", "v1.2.3", SemverAll, []string{"v2.0.0", "v1.2.1"}, nil, []string{"v1.2.3", "1.2.3", "1.2", "1"}},
		{"older patch", "v1.2.3", SemverAll, []string{"v1.2.4"}, nil, []string{"v1.2.3", "1.2.3"}},
		{"newer release without v", "v1.2.3", SemverAll, []string{"1.3.0"}, nil, []string{"v1.2.3", "1.2.3", "1.2"}},
		{"newer pre-release does not count", "v1.2.3", SemverAll, []string{"v1.3.0-rc.1", "v1.2.2"}, nil, []string{"v1.2.3", "1.2.3", "1.2", "1", "latest"}},
		{"shorthand tags do not count", "v1.2.3", SemverAll, []string{"v2", "2.0", "9"}, nil, []string{"v1.2.3", "1.2.3", "1.2", "1", "latest"}},
		{"re-push of the highest", "v1.2.3", SemverAll, []string{"v1.2.3", "1.2.3", "latest"}, nil, []string{"v1.2.3", "1.2.3", "1.2", "1", "latest"}},
		{"newer release with build metadata tag", "v1.2.3", SemverAll, []string{"v1.2.4_build.1"}, nil, []string{"v1.2.3", "1.2.3"}},
		{"0.x gets no major tag", "v0.4.1", SemverAll, nil, nil, []string{"v0.4.1", "0.4.1", "0.4", "latest"}},
		{"pre-release: version only", "v1.2.3-rc.1", SemverAll, nil, nil, []string{"v1.2.3-rc.1"}},
		{"build metadata: + written _", "v1.2.3+build.5", SemverAll, nil, nil, []string{"v1.2.3_build.5", "1.2.3", "1.2", "1", "latest"}},
		{"describe version: version only", "v1.2.3-4-gabcdef1", SemverAll, nil, nil, []string{"v1.2.3-4-gabcdef1"}},
		{"dirty: version only", "v1.2.3-dirty", SemverAll, nil, nil, []string{"v1.2.3-dirty"}},
		{"dirty describe: version only", "v1.2.3-4-gabcdef1-dirty", SemverAll, nil, nil, []string{"v1.2.3-4-gabcdef1-dirty"}},
		{"pseudo-version: version only", "v0.0.0-20240102030405-abcdefabcdef", SemverAll, nil, nil, []string{"v0.0.0-20240102030405-abcdefabcdef"}},
		{"devel: version only", "v0.0.0-devel", SemverAll, nil, nil, []string{"v0.0.0-devel"}},
		{"semver off", "v1.2.3", SemverNone, nil, nil, []string{"v1.2.3"}},
		{"patch and latest only", "v1.2.3", SemverPatch | SemverLatest, nil, nil, []string{"v1.2.3", "1.2.3", "latest"}},
		{"latest off", "v1.2.3", SemverAll &^ SemverLatest, nil, nil, []string{"v1.2.3", "1.2.3", "1.2", "1"}},
		{"version without v", "1.2.3", SemverAll, nil, nil, []string{"1.2.3", "1.2", "1", "latest"}},
		{"extra tags, duplicates dropped", "v1.2.3", SemverMinor, nil, []string{"edge", "1.2", "sha-abc"}, []string{"v1.2.3", "1.2", "edge", "sha-abc"}},
		{"extra tags on a pre-release", "v2.0.0-beta.1", SemverAll, nil, []string{"beta"}, []string{"v2.0.0-beta.1", "beta"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := IndexTags(tt.version, tt.semver, tt.existing, tt.extra)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("IndexTags(%q) mismatch (-want +got):\n%s", tt.version, diff)
			}
		})
	}
}

func TestIndexTagsErrors(t *testing.T) {
	tests := []struct {
		name, version string
		extra         []string
		want          string
	}{
		{"bad extra tag", "v1.2.3", []string{"-edge"}, `tag "-edge" is not a valid image tag`},
		{"version too long", "v1.2.3-" + strings.Repeat("x", 130), nil, "cannot be a tag"},
		{"version starting with a dot", ".1", nil, "cannot be a tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := IndexTags(tt.version, SemverAll, nil, tt.extra)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("IndexTags(%q, extra %q) error = %v, want it to contain %q", tt.version, tt.extra, err, tt.want)
			}
		})
	}
}

func TestVersionTag(t *testing.T) {
	for in, want := range map[string]string{
		"v1.2.3":              "v1.2.3",
		"v1.2.3+build.5":      "v1.2.3_build.5",
		"v1.2.3-rc.1+a.b":     "v1.2.3-rc.1_a.b",
		"v1.2.3-4-gabc-dirty": "v1.2.3-4-gabc-dirty",
		"feature/x":           "feature-x",
	} {
		if got, err := VersionTag(in); err != nil || got != want {
			t.Errorf("VersionTag(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestParseSemver(t *testing.T) {
	tests := []struct {
		in   []string
		want Semver
	}{
		{nil, SemverAll},
		{[]string{"none"}, SemverNone},
		{[]string{"patch", "latest"}, SemverPatch | SemverLatest},
		{[]string{"major", "minor", "patch", "latest"}, SemverAll},
	}
	for _, tt := range tests {
		if got, err := ParseSemver(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseSemver(%q) = %b, %v; want %b", tt.in, got, err, tt.want)
		}
	}
	if _, err := ParseSemver([]string{"micro"}); err == nil {
		t.Error("ParseSemver(micro) succeeded, want an error")
	}
}

func TestArchScheme(t *testing.T) {
	plat := func(arch, variant string) v1.Platform {
		return v1.Platform{OS: "linux", Architecture: arch, Variant: variant}
	}
	tests := []struct {
		scheme string
		p      v1.Platform
		want   string
	}{
		{"", plat("amd64", ""), "amd64"},
		{"go", plat("arm64", ""), "arm64"},
		{"go", plat("arm", "v7"), "armv7"},
		{"go", plat("amd64", "v3"), "amd64v3"},
		{"uname", plat("amd64", ""), "x86_64"},
		{"uname", plat("arm64", ""), "aarch64"},
		{"uname", plat("arm", "v7"), "armv7l"},
		{"uname", plat("amd64", "v3"), "x86_64v3"},
		{"uname", plat("riscv64", ""), "riscv64"},
		{"amd64=x86_64,arm/v7=armhf", plat("arm", "v7"), "armhf"},
		{"amd64=x86_64,arm/v7=armhf", plat("arm", "v6"), "armv6"},
		{"amd64=x86_64,arm/v7=armhf", plat("amd64", ""), "x86_64"},
		{" amd64 = x86_64 ", plat("arm64", ""), "arm64"},
	}
	for _, tt := range tests {
		a, err := ParseArchScheme(tt.scheme)
		if err != nil {
			t.Fatalf("ParseArchScheme(%q): %v", tt.scheme, err)
		}
		if got := a.Suffix(tt.p); got != tt.want {
			t.Errorf("scheme %q: Suffix(%s/%s) = %q, want %q", tt.scheme, tt.p.Architecture, tt.p.Variant, got, tt.want)
		}
	}

	a, _ := ParseArchScheme("uname")
	got, err := a.PlatformTags([]string{"v1.2.3", "latest"}, plat("arm64", ""))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"v1.2.3-aarch64", "latest-aarch64"}, got); diff != "" {
		t.Errorf("PlatformTags mismatch (-want +got):\n%s", diff)
	}
	off, _ := ParseArchScheme("none")
	if got, _ := off.PlatformTags([]string{"v1"}, plat("amd64", "")); got != nil || off.Enabled() {
		t.Errorf("scheme none: PlatformTags = %q, Enabled = %t; want none", got, off.Enabled())
	}
	if _, err := a.PlatformTags([]string{strings.Repeat("x", 125)}, plat("arm64", "")); err == nil {
		t.Error("PlatformTags accepted a tag longer than 128 characters")
	}
	for _, bad := range []string{"amd64", "amd64=", "=x86_64", "amd64=x/y"} {
		if _, err := ParseArchScheme(bad); err == nil {
			t.Errorf("ParseArchScheme(%q) succeeded, want an error", bad)
		}
	}
}
