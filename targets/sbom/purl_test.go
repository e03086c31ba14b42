package sbom

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestGolangPURL(t *testing.T) {
	for _, tc := range []struct{ mod, version, want string }{
		{"golang.org/x/mod", "v0.42.0", "pkg:golang/golang.org/x/mod@v0.42.0"},
		{"github.com/Azure/go-autorest", "v14.2.0+incompatible", "pkg:golang/github.com/Azure/go-autorest@v14.2.0+incompatible"},
		{"example.com/hello", "(devel)", "pkg:golang/example.com/hello"},
		{"example.com/hello", "", "pkg:golang/example.com/hello"},
		{"stdlib", "v1.26.8", "pkg:golang/stdlib@v1.26.8"},
	} {
		if got := golangPURL(tc.mod, tc.version); got != tc.want {
			t.Errorf("golangPURL(%q, %q) = %q, want %q", tc.mod, tc.version, got, tc.want)
		}
	}
}

func TestOCIPURL(t *testing.T) {
	h := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}
	d := "sha256:" + h.Hex
	for _, tc := range []struct {
		repo string
		p    *v1.Platform
		want string
	}{
		{"hello", nil, "pkg:oci/hello@" + d},
		{"ghcr.io/Org/App", &v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, "pkg:oci/app@" + d + "?arch=arm&os=linux&repository_url=ghcr.io/Org/App&variant=v7"},
		{"127.0.0.1:5000/hello", &v1.Platform{OS: "linux", Architecture: "amd64"}, "pkg:oci/hello@" + d + "?arch=amd64&os=linux&repository_url=127.0.0.1:5000/hello"},
	} {
		if got := ociPURL(tc.repo, h, tc.p); got != tc.want {
			t.Errorf("ociPURL(%q, %v) = %q, want %q", tc.repo, tc.p, got, tc.want)
		}
	}
}

func TestH1Hex(t *testing.T) {
	for _, tc := range []struct{ sum, want string }{
		{"h1:ICeL3t2L30ljSPHHxDnR4fqVcBt/zR2zJAb9juavmQg=", "20278bdedd8bdf496348f1c7c439d1e1fa95701b7fcd1db32406fd8ee6af9908"},
		{"", ""},
		{"h2:ICeL3t2L30ljSPHHxDnR4fqVcBt/zR2zJAb9juavmQg=", ""},
		{"h1:not base64!", ""},
		{"h1:YWJj", ""}, // not 32 bytes
	} {
		if got := h1Hex(tc.sum); got != tc.want {
			t.Errorf("h1Hex(%q) = %q, want %q", tc.sum, got, tc.want)
		}
	}
}

func TestParseGoSum(t *testing.T) {
	got := ParseGoSum([]byte("a.com/x v1.0.0 h1:AAA=\na.com/x v1.0.0/go.mod h1:BBB=\n\nbroken line\n"))
	if diff := cmp.Diff(map[string]string{"a.com/x v1.0.0": "h1:AAA="}, got); diff != "" {
		t.Errorf("ParseGoSum (-want +got):\n%s", diff)
	}
}

func TestBaseRepo(t *testing.T) {
	for in, want := range map[string]string{
		"gcr.io/distroless/static:nonroot":    "gcr.io/distroless/static",
		"gcr.io/distroless/static@sha256:abc": "gcr.io/distroless/static",
		"localhost:5000/base:v1@sha256:abc":   "localhost:5000/base",
		"localhost:5000/base":                 "localhost:5000/base",
		"oci:/tmp/layout":                     "oci:/tmp/layout",
	} {
		if got := baseRepo(in); got != want {
			t.Errorf("baseRepo(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFileName(t *testing.T) {
	for _, tc := range []struct{ name, artifactType, want string }{
		{"v1.2.3", SPDXMediaType, "hello.spdx.json"},
		{"v1.2.3 linux/arm/v7", SPDXMediaType, "hello-linux-arm-v7.spdx.json"},
		{"v1.2.3 linux/amd64", ProvenanceMediaType, "hello-linux-amd64.provenance.json"},
	} {
		if got := fileName("hello", tc.name, tc.artifactType); got != tc.want {
			t.Errorf("fileName(%q, %q) = %q, want %q", tc.name, tc.artifactType, got, tc.want)
		}
	}
}

func TestMergeReferrers(t *testing.T) {
	d := func(c byte, at string) v1.Descriptor {
		return v1.Descriptor{Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat(string(c), 64)}, ArtifactType: at}
	}
	bundle := "application/vnd.dev.sigstore.bundle.v0.3+json"
	old := []v1.Descriptor{d('c', bundle), d('a', SPDXMediaType), d('e', "application/other")}
	for _, tc := range []struct {
		name  string
		added []v1.Descriptor
		want  []v1.Descriptor
	}{
		{"same SBOM again", []v1.Descriptor{d('a', SPDXMediaType)}, []v1.Descriptor{d('a', SPDXMediaType), d('c', bundle), d('e', "application/other")}},
		{"new SBOM replaces the old", []v1.Descriptor{d('b', SPDXMediaType)}, []v1.Descriptor{d('b', SPDXMediaType), d('c', bundle), d('e', "application/other")}},
		{"provenance added", []v1.Descriptor{d('f', ProvenanceMediaType)}, []v1.Descriptor{d('a', SPDXMediaType), d('c', bundle), d('e', "application/other"), d('f', ProvenanceMediaType)}},
	} {
		if diff := cmp.Diff(tc.want, mergeReferrers(old, tc.added)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}
