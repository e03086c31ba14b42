package assemble

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func staticBaseFor(t *testing.T, p v1.Platform) Base {
	t.Helper()
	b, err := ResolveBase(context.Background(), "", p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImageOnStaticBase(t *testing.T) {
	store := newStore(t)
	bin := writeFile(t, t.TempDir(), "app_linux_arm64", []byte("\x7fELF not really"))
	base := staticBaseFor(t, arm64)
	req := Request{
		Store:       store,
		Binary:      bin,
		Name:        "app",
		Platform:    arm64,
		Base:        base,
		Created:     testCreated,
		Labels:      map[string]string{"org.opencontainers.image.version": "1.2.3"},
		Annotations: map[string]string{"org.opencontainers.image.revision": "abc123"},
	}
	img := buildImage(t, req)
	if err := validate.Image(img); err != nil {
		t.Errorf("validate.Image: %v", err)
	}

	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	baseLayers, _ := base.Image.Layers()
	baseDiffID, _ := baseLayers[0].DiffID()
	appDiffID, _ := layers[1].DiffID()
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	want := &v1.ConfigFile{
		Architecture: "arm64",
		OS:           "linux",
		Variant:      "v8",
		Created:      v1.Time{Time: testCreated},
		Config: v1.Config{
			Entrypoint: []string{"/usr/local/bin/app"},
			User:       "65532:65532",
			WorkingDir: "/",
			Env: []string{
				"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
			},
			Labels: map[string]string{"org.opencontainers.image.version": "1.2.3"},
		},
		RootFS: v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{baseDiffID, appDiffID}},
		History: []v1.History{
			{Created: v1.Time{Time: time.Unix(0, 0).UTC()}, CreatedBy: "gantry: static base (passwd, group, CA certificates, tzdata)"},
			{Created: v1.Time{Time: testCreated}, CreatedBy: "gantry: COPY app_linux_arm64 /usr/local/bin/app"},
		},
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}

	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(req.Annotations, m.Annotations); diff != "" {
		t.Errorf("manifest annotations (-want +got):\n%s", diff)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("media types %s, %s; want OCI", m.MediaType, m.Config.MediaType)
	}

	// The layout takes it as is, and reading it back gives the same image.
	desc, err := store.WriteImage(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); desc.Digest != d {
		t.Errorf("written manifest %s, image digest %s", desc.Digest, d)
	}
	back, err := store.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(back); err != nil {
		t.Errorf("validate.Image of the image read back: %v", err)
	}
}

// TestImageIsReproducible builds the same request in two places.
func TestImageIsReproducible(t *testing.T) {
	for _, c := range compressions {
		t.Run(c.name, func(t *testing.T) {
			var digests []v1.Hash
			for range 2 {
				store := newStore(t)
				bin := writeFile(t, t.TempDir(), "app", []byte("binary"))
				base, err := ResolveBase(context.Background(), "", amd64, WithStore(store), WithCompression(c.name))
				if err != nil {
					t.Fatal(err)
				}
				img := buildImage(t, Request{Store: store, Binary: bin, Name: "app", Platform: amd64,
					Base: base, Created: testCreated, Compression: c.name, CacheDir: t.TempDir()})
				if c.name == Zstd {
					if err := validate.Image(img, validate.Fast); err != nil {
						t.Errorf("validate.Image: %v", err)
					}
					layers, _ := img.Layers()
					for _, l := range layers {
						checkLayer(t, l)
					}
				} else if err := validate.Image(img); err != nil {
					t.Errorf("validate.Image: %v", err)
				}
				d, err := img.Digest()
				if err != nil {
					t.Fatal(err)
				}
				digests = append(digests, d)
			}
			if digests[0] != digests[1] {
				t.Errorf("two builds of the same request: %s and %s", digests[0], digests[1])
			}
		})
	}
}

// TestImageOnForeignBase: a Docker schema 2 base with labels, annotations,
// env and a healthcheck.
func TestImageOnForeignBase(t *testing.T) {
	base, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	base, err = mutate.Config(base, v1.Config{
		Env:          []string{"PATH=/custom/bin", "LANG=C.UTF-8"},
		Labels:       map[string]string{"org.opencontainers.image.title": "base", "maintainer": "someone"},
		Healthcheck:  &v1.HealthConfig{Test: []string{"CMD", "/bin/true"}},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		User:         "0",
		Cmd:          []string{"/bin/sh"},
	})
	if err != nil {
		t.Fatal(err)
	}
	base = mutate.Annotations(base, map[string]string{"org.opencontainers.image.source": "https://example.com/base"}).(v1.Image)
	digest, _ := base.Digest()

	req := Request{Store: newStore(t), Binary: writeFile(t, t.TempDir(), "app", []byte("x")), Name: "app",
		Platform: amd64, Base: Base{Image: base, Name: "example.com/base:1", Digest: digest},
		User: "1000", WorkingDir: "/srv", BinDir: "/app", Created: testCreated}
	img := buildImage(t, req)
	if err := validate.Image(img); err != nil {
		t.Errorf("validate.Image: %v", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	wantConfig := v1.Config{
		Entrypoint:   []string{"/app/app"},
		User:         "1000",
		WorkingDir:   "/srv",
		Env:          []string{"PATH=/custom/bin", "LANG=C.UTF-8"},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
	}
	if diff := cmp.Diff(wantConfig, cfg.Config); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if len(cfg.History) != 3 || cfg.History[0].CreatedBy != "random" || cfg.History[2].CreatedBy != "gantry: COPY app /app/app" {
		t.Errorf("history %+v, want the base's two entries and the COPY", cfg.History)
	}
	m, _ := img.Manifest()
	if m.Annotations != nil {
		t.Errorf("manifest annotations %v, want none (the base's are not inherited)", m.Annotations)
	}
	var mts []types.MediaType
	for _, l := range m.Layers {
		mts = append(mts, l.MediaType)
	}
	if diff := cmp.Diff([]types.MediaType{types.OCILayer, types.OCILayer, types.OCILayer}, mts); diff != "" {
		t.Errorf("layer media types (-want +got):\n%s", diff)
	}
	baseManifest, _ := base.Manifest()
	if m.Layers[0].Digest != baseManifest.Layers[0].Digest {
		t.Errorf("base layer digest changed: %s, was %s", m.Layers[0].Digest, baseManifest.Layers[0].Digest)
	}
}

func TestImageHistoryForBaseWithoutHistory(t *testing.T) {
	base, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := base.ConfigFile()
	cfg = cfg.DeepCopy()
	cfg.History = nil
	if base, err = mutate.ConfigFile(base, cfg); err != nil {
		t.Fatal(err)
	}
	d, _ := base.Digest()
	img := buildImage(t, Request{Store: newStore(t), Binary: writeFile(t, t.TempDir(), "app", []byte("x")), Name: "app",
		Platform: amd64, Base: Base{Image: base, Name: "example.com/base:1", Digest: d}, Created: testCreated})
	got, _ := img.ConfigFile()
	var createdBy []string
	for _, h := range got.History {
		createdBy = append(createdBy, h.CreatedBy)
	}
	want := []string{"gantry: base layer example.com/base:1@" + d.String(), "gantry: base layer example.com/base:1@" + d.String(), "gantry: COPY app /usr/local/bin/app"}
	if diff := cmp.Diff(want, createdBy); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

func TestMergeEnv(t *testing.T) {
	tests := []struct {
		base  []string
		certs bool
		want  []string
	}{
		{nil, false, []string{"PATH=" + DefaultPath}},
		{nil, true, []string{"PATH=" + DefaultPath, "SSL_CERT_FILE=" + CertFile}},
		{[]string{"A=1", "PATH=/bin"}, false, []string{"A=1", "PATH=/bin"}},
		{[]string{"SSL_CERT_FILE=/x.pem", "PATHX=1"}, true, []string{"SSL_CERT_FILE=/x.pem", "PATHX=1", "PATH=" + DefaultPath}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, mergeEnv(tt.base, tt.certs)); diff != "" {
			t.Errorf("mergeEnv(%q, %v) (-want +got):\n%s", tt.base, tt.certs, diff)
		}
	}
}

func TestImageRequestErrors(t *testing.T) {
	base := staticBaseFor(t, amd64)
	bin := writeFile(t, t.TempDir(), "app", []byte("x"))
	ok := Request{Store: newStore(t), Binary: bin, Name: "app", Platform: amd64, Base: base}
	tests := []struct {
		name string
		req  func(Request) Request
		want string
	}{
		{"no store", func(r Request) Request { r.Store = nil; return r }, "no store"},
		{"no base", func(r Request) Request { r.Base = Base{}; return r }, "ResolveBase"},
		{"no binary", func(r Request) Request { r.Binary = ""; return r }, "no binary"},
		{"compression", func(r Request) Request { r.Compression = "xz"; return r }, `compression "xz" is not supported (valid: "gzip", "zstd")`},
		{"name", func(r Request) Request { r.Name = "a/b"; return r }, `binary name "a/b"`},
		{"created", func(r Request) Request { r.Created = time.Unix(-1, 0); return r }, "before 1970"},
	}
	for _, tt := range tests {
		_, err := Image(context.Background(), tt.req(ok))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}
