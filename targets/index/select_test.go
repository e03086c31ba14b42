package index_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/index"
)

func src(t *testing.T, c string, p *v1.Platform, rev, version string) index.Source {
	return index.Source{Layout: "dist/layouts/" + c, Descriptor: desc(t, c, p), Revision: rev, Version: version}
}

func TestSelect(t *testing.T) {
	amd, arm, armv7 := plat("amd64", ""), plat("arm64", ""), plat("arm", "v7")
	merged := []index.Source{src(t, "a", arm, "r", "v1"), src(t, "b", armv7, "r", "v1"), src(t, "c", amd, "r", "v1")}
	for _, tc := range []struct {
		name    string
		want    []v1.Platform
		digests []string // by the hex digit of the source
		err     string
	}{
		{"configured order, not the layouts'", []v1.Platform{*amd, *arm, *armv7}, []string{"c", "a", "b"}, ""},
		{"a platform not configured is left out", []v1.Platform{*arm, *amd}, []string{"a", "c"}, ""},
		{"a configured platform missing", []v1.Platform{*amd, *plat("riscv64", "")}, nil, "no merged layout holds linux/riscv64 (they hold linux/arm64, linux/arm/v7, linux/amd64)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := index.Select(merged, tc.want)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Select = %v, want an error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var digits []string
			for _, s := range got {
				digits = append(digits, s.Descriptor.Digest.Hex[:1])
			}
			if diff := cmp.Diff(tc.digests, digits); diff != "" {
				t.Errorf("selected (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckSameBuild(t *testing.T) {
	amd, arm := plat("amd64", ""), plat("arm64", "")
	clean := []index.Source{src(t, "a", amd, "abc", "v1.2.3"), src(t, "b", arm, "abc", "v1.2.3")}
	dirty := []index.Source{src(t, "a", amd, "abc", "v1.2.3-dirty"), src(t, "b", arm, "abc", "v1.2.3-dirty")}
	for _, tc := range []struct {
		name       string
		srcs       []index.Source
		rev, ver   string
		allowDirty bool
		err        string
	}{
		{"same commit and version", clean, "abc", "v1.2.3", false, ""},
		{"another commit", clean, "def", "v1.2.3", false, `built from revision "abc", but this checkout is at "def"`},
		{"a dirty build job", dirty, "abc", "v1.2.3", false, `built as version "v1.2.3-dirty", but this checkout is version "v1.2.3"`},
		{"dirty allowed", dirty, "abc", "v1.2.3", true, ""},
		{"another commit even when dirty is allowed", dirty, "def", "v1.2.3-dirty", true, "run the merge job on the commit the build jobs built"},
		{"no git checks nothing", clean, "", "v0.0.0-devel", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := index.CheckSameBuild(tc.srcs, tc.rev, tc.ver, tc.allowDirty)
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("CheckSameBuild = %v, want nil", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("CheckSameBuild = %v, want an error containing %q", err, tc.err)
			}
		})
	}
}
