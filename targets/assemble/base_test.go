package assemble

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// platformImage is a random image whose config declares p.
func platformImage(t *testing.T, p v1.Platform) v1.Image {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := img.ConfigFile()
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	return img
}

// twoArchIndex is an index of an amd64 image and an arm64 one without
// variant, as most registries' bases are.
func twoArchIndex(t *testing.T) (v1.ImageIndex, map[string]v1.Hash) {
	t.Helper()
	digests := map[string]v1.Hash{}
	var adds []mutate.IndexAddendum
	for _, p := range []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}} {
		img := platformImage(t, p)
		d, _ := img.Digest()
		digests[p.Architecture] = d
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	return mutate.AppendManifests(empty.Index, adds...), digests
}

func TestRegistryBase(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	idx, digests := twoArchIndex(t)
	ref, err := name.ParseReference(host + "/base/static:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	single := platformImage(t, amd64)
	singleRef, _ := name.ParseReference(host + "/base/single:v1")
	if err := remote.Write(singleRef, single); err != nil {
		t.Fatal(err)
	}
	idxDigest, _ := idx.Digest()
	singleDigest, _ := single.Digest()

	tests := []struct {
		spec     string
		platform v1.Platform
		want     Base // Image not compared
	}{
		{host + "/base/static:v1", arm64, Base{Name: host + "/base/static:v1", Digest: digests["arm64"]}},
		{host + "/base/static:v1", v1.Platform{OS: "linux", Architecture: "arm64"}, Base{Name: host + "/base/static:v1", Digest: digests["arm64"]}},
		{host + "/base/static:v1", v1.Platform{OS: "linux", Architecture: "amd64", Variant: "v3"}, Base{Name: host + "/base/static:v1", Digest: digests["amd64"]}},
		{host + "/base/static:v1@" + idxDigest.String(), amd64, Base{Name: host + "/base/static:v1", Digest: digests["amd64"]}},
		{host + "/base/static@" + idxDigest.String(), amd64, Base{Name: host + "/base/static", Digest: digests["amd64"]}},
		{host + "/base/single:v1", amd64, Base{Name: host + "/base/single:v1", Digest: singleDigest}},
	}
	for _, tt := range tests {
		t.Run(tt.spec+" "+tt.platform.String(), func(t *testing.T) {
			got, err := ResolveBase(context.Background(), tt.spec, tt.platform)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Image" }, cmp.Ignore())); diff != "" {
				t.Errorf("base (-want +got):\n%s", diff)
			}
			if d, _ := got.Image.Digest(); d != tt.want.Digest {
				t.Errorf("image digest %s, want %s", d, tt.want.Digest)
			}
		})
	}

	// A full build on the registry base, written to a layout.
	base, err := ResolveBase(context.Background(), host+"/base/static:v1", arm64)
	if err != nil {
		t.Fatal(err)
	}
	store := newStore(t)
	img := buildImage(t, Request{Store: store, Binary: writeFile(t, t.TempDir(), "app", []byte("x")), Name: "app",
		Platform: arm64, Base: base, Created: testCreated, Annotations: base.Annotations()})
	if _, err := store.WriteImage(context.Background(), img); err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Errorf("validate.Image: %v", err)
	}
	m, _ := img.Manifest()
	wantAnn := map[string]string{
		"org.opencontainers.image.base.name":   host + "/base/static:v1",
		"org.opencontainers.image.base.digest": digests["arm64"].String(),
	}
	if diff := cmp.Diff(wantAnn, m.Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}

	errs := []struct {
		spec     string
		platform v1.Platform
		want     string
	}{
		{host + "/base/static:v1", v1.Platform{OS: "linux", Architecture: "riscv64"}, "has no image for linux/riscv64 (it has: linux/amd64 sha256:"},
		{host + "/base/static:v1", v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8.2"}, ""},
		{host + "/base/single:v1", arm64, "is an image for linux/amd64, not linux/arm64/v8"},
		{host + "/base/missing:v1", amd64, "fetching base \"" + host + "/base/missing:v1\""},
	}
	for _, tt := range errs {
		_, err := ResolveBase(context.Background(), tt.spec, tt.platform)
		if tt.want == "" {
			if err != nil {
				t.Errorf("ResolveBase(%s, %s): %v", tt.spec, tt.platform, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ResolveBase(%s, %s) error = %v, want %q", tt.spec, tt.platform, err, tt.want)
		}
	}
}

// TestRegistryBaseOptions: credentials and transport reach the registry.
func TestRegistryBaseOptions(t *testing.T) {
	reg := registry.New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); r.Method == http.MethodGet && (!ok || u != "user" || p != "secret") {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	spec := strings.TrimPrefix(srv.URL, "http://") + "/private:v1"
	ref, _ := name.ParseReference(spec)
	if err := remote.Write(ref, platformImage(t, amd64)); err != nil {
		t.Fatal(err)
	}

	noCreds := WithKeychain(authn.NewMultiKeychain())
	if _, err := ResolveBase(context.Background(), spec, amd64, noCreds); err == nil || !strings.Contains(err.Error(), "401 Unauthorized") {
		t.Errorf("without credentials: error %v, want unauthorized", err)
	}
	var requests atomic.Int32
	counting := roundTripper(func(r *http.Request) (*http.Response, error) {
		requests.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})
	_, err := ResolveBase(context.Background(), spec, amd64, noCreds,
		WithAuth(&authn.Basic{Username: "user", Password: "secret"}),
		WithRemoteOptions(remote.WithTransport(counting)))
	if err != nil {
		t.Errorf("with WithAuth: %v", err)
	}
	if requests.Load() == 0 {
		t.Error("WithRemoteOptions(remote.WithTransport(…)): transport not used")
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestOCIBase(t *testing.T) {
	dir := t.TempDir()
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	idx, digests := twoArchIndex(t)
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{refNameAnnotation: "multi"})); err != nil {
		t.Fatal(err)
	}
	full := platformImage(t, amd64)
	if err := lp.AppendImage(full, layout.WithAnnotations(map[string]string{refNameAnnotation: "docker.io/library/alpine:3.20"})); err != nil {
		t.Fatal(err)
	}
	fullDigest, _ := full.Digest()
	idxDigest, _ := idx.Digest()

	tests := []struct {
		spec     string
		platform v1.Platform
		want     Base
	}{
		{"oci:" + dir + ":multi", arm64, Base{Digest: digests["arm64"]}},
		{"oci:" + dir + ":multi", amd64, Base{Digest: digests["amd64"]}},
		{"oci:" + dir + ":" + idxDigest.String(), amd64, Base{Digest: digests["amd64"]}},
		{"oci:" + dir + ":docker.io/library/alpine:3.20", amd64, Base{Name: "docker.io/library/alpine:3.20", Digest: fullDigest}},
	}
	for _, tt := range tests {
		got, err := ResolveBase(context.Background(), tt.spec, tt.platform)
		if err != nil {
			t.Errorf("ResolveBase(%s, %s): %v", tt.spec, tt.platform, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Image" }, cmp.Ignore())); diff != "" {
			t.Errorf("ResolveBase(%s, %s) (-want +got):\n%s", tt.spec, tt.platform, diff)
		}
		if err := validate.Image(got.Image); err != nil {
			t.Errorf("validate.Image: %v", err)
		}
	}

	errs := []struct {
		spec, want string
	}{
		{"oci:" + dir, "no single image for linux/amd64 in OCI layout " + dir + ": name one as oci:" + dir + `:<ref name or digest> (it has: "multi" index sha256:`},
		{"oci:" + dir + ":nope", `no manifest "nope" in OCI layout ` + dir + ` (it has: "multi" index sha256:`},
		{"oci:" + dir + "/missing", "reading OCI layout " + dir + "/missing"},
		{"oci:" + dir + ":docker.io/library/alpine:3.20", ""}, // amd64 image: fine for amd64 only
	}
	for _, tt := range errs {
		_, err := ResolveBase(context.Background(), tt.spec, amd64)
		if tt.want == "" {
			if err != nil {
				t.Errorf("ResolveBase(%s): %v", tt.spec, err)
			}
			if _, err := ResolveBase(context.Background(), tt.spec, arm64); err == nil || !strings.Contains(err.Error(), "is an image for linux/amd64") {
				t.Errorf("ResolveBase(%s, arm64) error = %v, want a platform mismatch", tt.spec, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ResolveBase(%s) error = %v, want %q", tt.spec, err, tt.want)
		}
	}
}

// TestOCIBasePlatformImages: a layout listing one image per platform
// without ref names (as ko and Gantry write) needs no ref.
func TestOCIBasePlatformImages(t *testing.T) {
	dir := t.TempDir()
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]v1.Hash{}
	for _, p := range []v1.Platform{amd64, arm64} {
		img := platformImage(t, p)
		want[p.Architecture], _ = img.Digest()
		if err := lp.AppendImage(img, layout.WithPlatform(p)); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []v1.Platform{amd64, arm64} {
		b, err := ResolveBase(context.Background(), "oci:"+dir, p)
		if err != nil {
			t.Fatal(err)
		}
		if b.Digest != want[p.Architecture] || b.Name != "" {
			t.Errorf("oci:%s for %s = %q %s, want no name and %s", dir, p, b.Name, b.Digest, want[p.Architecture])
		}
	}
}

func TestBadBaseSpecs(t *testing.T) {
	for _, spec := range []string{"statc", "Scratch", "oci:", "oci::v1", "Example.com/UPPER:tag"} {
		_, err := ResolveBase(context.Background(), spec, amd64)
		if err == nil {
			t.Errorf("ResolveBase(%q) succeeded, want an error", spec)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, fmt.Sprintf("%q", spec)) || !strings.Contains(msg, `"static" (default), "scratch", "oci:<dir>[:<ref>]"`) || strings.Contains(msg, "\n") {
			t.Errorf("ResolveBase(%q) error = %q, want one line naming the value and the valid forms", spec, msg)
		}
	}
	_, err := ResolveBase(context.Background(), "static", amd64, WithCompression("lz4"))
	if err == nil || !strings.Contains(err.Error(), `compression "lz4"`) {
		t.Errorf("WithCompression(lz4): error %v", err)
	}
}

func TestPickPlatform(t *testing.T) {
	desc := func(arch, variant string) v1.Descriptor {
		return v1.Descriptor{MediaType: types.OCIManifestSchema1, Platform: &v1.Platform{OS: "linux", Architecture: arch, Variant: variant},
			Digest: v1.Hash{Algorithm: "sha256", Hex: arch + variant}}
	}
	attestation := v1.Descriptor{MediaType: types.OCIManifestSchema1, Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}}
	tests := []struct {
		descs []v1.Descriptor
		want  v1.Platform
		pick  string // Digest.Hex, "" for none
	}{
		{[]v1.Descriptor{desc("amd64", ""), desc("arm64", "")}, arm64, "arm64"},
		{[]v1.Descriptor{desc("amd64", ""), desc("arm64", "v8")}, v1.Platform{OS: "linux", Architecture: "arm64"}, "arm64v8"},
		{[]v1.Descriptor{desc("arm64", ""), desc("arm64", "v8")}, arm64, "arm64v8"}, // exact first
		{[]v1.Descriptor{desc("arm64", "v8.2")}, arm64, ""},
		{[]v1.Descriptor{desc("arm64", "v8"), desc("arm64", "v8.2")}, v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8.5"}, "arm64v8.2"},
		{[]v1.Descriptor{desc("amd64", "")}, v1.Platform{OS: "linux", Architecture: "amd64", Variant: "v3"}, "amd64"},
		{[]v1.Descriptor{desc("amd64", ""), desc("amd64", "v2"), desc("amd64", "v4")}, v1.Platform{OS: "linux", Architecture: "amd64", Variant: "v3"}, "amd64v2"},
		{[]v1.Descriptor{desc("amd64", "v2")}, amd64, ""},
		{[]v1.Descriptor{desc("arm", "v6"), desc("arm", "v7")}, v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, "armv7"},
		{[]v1.Descriptor{desc("arm", "v7")}, v1.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}, ""},
		{[]v1.Descriptor{desc("arm", "v6"), desc("arm", "v7")}, v1.Platform{OS: "linux", Architecture: "arm"}, "armv7"},
		{[]v1.Descriptor{desc("arm", "")}, v1.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}, "arm"},
		{[]v1.Descriptor{desc("ppc64le", ""), attestation}, v1.Platform{OS: "linux", Architecture: "ppc64le"}, "ppc64le"},
		{[]v1.Descriptor{attestation, {MediaType: types.OCIImageIndex}}, amd64, ""},
	}
	for _, tt := range tests {
		got, ok := pickPlatform(tt.descs, tt.want)
		if !ok && tt.pick != "" || ok && got.Digest.Hex != tt.pick {
			t.Errorf("pickPlatform(%s, %s) = %q, %v; want %q", describe(tt.descs), tt.want, got.Digest.Hex, ok, tt.pick)
		}
	}
}

func TestRegistryBaseName(t *testing.T) {
	tests := map[string]string{
		"alpine:3.20":              "docker.io/library/alpine:3.20",
		"docker.io/library/alpine": "docker.io/library/alpine:latest",
		"cgr.dev/chainguard/static:latest@sha256:" + strings.Repeat("0", 64): "cgr.dev/chainguard/static:latest",
		"localhost:5000/x@sha256:" + strings.Repeat("0", 64):                 "localhost:5000/x",
		"gcr.io/distroless/static-debian12:nonroot":                          "gcr.io/distroless/static-debian12:nonroot",
	}
	for spec, want := range tests {
		ref, err := name.ParseReference(spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := registryBaseName(spec, ref); got != want {
			t.Errorf("registryBaseName(%q) = %q, want %q", spec, got, want)
		}
	}
}
