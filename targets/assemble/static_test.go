package assemble

import (
	"archive/tar"
	"context"
	"crypto/x509"
	"encoding/pem"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

func countStaticPacks(n *int) BaseOption { return func(o *baseOptions) { o.onPack = countPacks(n) } }

// staticLayerOf resolves the static base for p and returns its only layer.
func staticLayerOf(t *testing.T, p v1.Platform, opts ...BaseOption) (Base, v1.Layer) {
	t.Helper()
	b, err := ResolveBase(context.Background(), "static", p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := b.Image.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 {
		t.Fatalf("static base has %d layers, want 1", len(ls))
	}
	return b, ls[0]
}

func TestStaticBaseContents(t *testing.T) {
	b, l := staticLayerOf(t, amd64)
	if b.Name != "" || b.Digest != (v1.Hash{}) || !b.Certs {
		t.Errorf("static base = name %q digest %v certs %v; want no name, no digest, certs", b.Name, b.Digest, b.Certs)
	}
	checkLayer(t, l)
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	entries := readTar(t, rc, 1<<20)

	byName := map[string]tarEntry{}
	var names []string
	for _, e := range entries {
		byName[e.Name] = e
		names = append(names, e.Name)
		if !e.ModTime.Equal(time.Unix(0, 0)) || e.Uname != "" || e.Gname != "" || e.PAX != nil ||
			!e.Access.IsZero() || !e.Change.IsZero() {
			t.Errorf("%s: mtime %v uname %q gname %q pax %v atime %v ctime %v; want epoch and nothing else",
				e.Name, e.ModTime, e.Uname, e.Gname, e.PAX, e.Access, e.Change)
		}
		if parent := path.Dir(strings.TrimSuffix(e.Name, "/")) + "/"; parent != "./" {
			if _, ok := byName[parent]; !ok {
				t.Errorf("%s comes before (or without) its directory %s", e.Name, parent)
			}
		}
	}
	if !slices.IsSorted(names) {
		t.Error("entries are not sorted by name")
	}

	type meta struct {
		Typeflag byte
		Mode     int64
		Uid, Gid int
	}
	wantMeta := map[string]meta{
		"etc/":                               {tar.TypeDir, 0o755, 0, 0},
		"etc/passwd":                         {tar.TypeReg, 0o644, 0, 0},
		"etc/group":                          {tar.TypeReg, 0o644, 0, 0},
		"etc/nsswitch.conf":                  {tar.TypeReg, 0o644, 0, 0},
		"etc/ssl/certs/ca-certificates.crt":  {tar.TypeReg, 0o644, 0, 0},
		"home/nonroot/":                      {tar.TypeDir, 0o755, 65532, 65532},
		"root/":                              {tar.TypeDir, 0o700, 0, 0},
		"tmp/":                               {tar.TypeDir, 0o1777, 0, 0},
		"usr/share/zoneinfo/":                {tar.TypeDir, 0o755, 0, 0},
		"usr/share/zoneinfo/Europe/":         {tar.TypeDir, 0o755, 0, 0},
		"usr/share/zoneinfo/Europe/Paris":    {tar.TypeReg, 0o644, 0, 0},
		"usr/share/zoneinfo/America/Chicago": {tar.TypeReg, 0o644, 0, 0},
	}
	for name, want := range wantMeta {
		e, ok := byName[name]
		if !ok {
			t.Errorf("no %s in the static base", name)
			continue
		}
		if diff := cmp.Diff(want, meta{e.Typeflag, e.Mode, e.Uid, e.Gid}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}

	if got := byName["etc/passwd"].Content; !strings.Contains(got, "\nnonroot:x:65532:65532:nonroot:/home/nonroot:") ||
		!strings.HasPrefix(got, "root:x:0:0:") {
		t.Errorf("/etc/passwd = %q, want root (0) and nonroot (65532)", got)
	}
	if got, want := byName["etc/group"].Content, "root:x:0:\nnonroot:x:65532:\n"; got != want {
		t.Errorf("/etc/group = %q, want %q", got, want)
	}
	if got, want := byName["etc/nsswitch.conf"].Content, "hosts: files dns\n"; got != want {
		t.Errorf("/etc/nsswitch.conf = %q, want %q", got, want)
	}

	// The CA bundle: every unconstrained root of x509roots/fallback, in order.
	var want [][]byte
	for r := range bundle.Roots() {
		if r.Constraint == nil {
			want = append(want, r.Certificate)
		}
	}
	rest := []byte(byName["etc/ssl/certs/ca-certificates.crt"].Content)
	var got [][]byte
	for {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
			t.Errorf("certificate %d: %v", len(got), err)
		}
		got = append(got, blk.Bytes)
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		t.Errorf("CA bundle has %d trailing bytes that are not PEM", len(rest))
	}
	if len(got) < 100 || !slices.EqualFunc(got, want, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Errorf("CA bundle has %d certificates, want the %d unconstrained fallback roots in order", len(got), len(want))
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(byName["etc/ssl/certs/ca-certificates.crt"].Content)) {
		t.Error("x509.CertPool.AppendCertsFromPEM rejects the bundle")
	}

	paris, err := time.LoadLocationFromTZData("Europe/Paris", []byte(byName["usr/share/zoneinfo/Europe/Paris"].Content))
	if err != nil {
		t.Fatal(err)
	}
	if got := time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC).In(paris).Format("15:04 MST"); got != "14:00 CEST" {
		t.Errorf("noon UTC in Europe/Paris = %s, want 14:00 CEST", got)
	}
}

func TestStaticBaseImage(t *testing.T) {
	b, l := staticLayerOf(t, arm64)
	if err := validate.Image(b.Image); err != nil {
		t.Errorf("validate.Image: %v", err)
	}
	m, err := b.Image.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("media types %s, %s; want OCI manifest and config", m.MediaType, m.Config.MediaType)
	}
	cfg, err := b.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	diffID, _ := l.DiffID()
	want := &v1.ConfigFile{
		Architecture: "arm64",
		OS:           "linux",
		Variant:      "v8",
		Created:      v1.Time{Time: time.Unix(0, 0).UTC()},
		Config: v1.Config{Env: []string{
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
		}},
		RootFS: v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{diffID}},
		History: []v1.History{{
			Created:   v1.Time{Time: time.Unix(0, 0).UTC()},
			CreatedBy: "gantry: static base (passwd, group, CA certificates, tzdata)",
		}},
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

// TestStaticBaseIsStable: the layer is the same for every platform, with or
// without a store, and is packed once per store when cached.
func TestStaticBaseIsStable(t *testing.T) {
	packs := 0
	store, cacheDir := newStore(t), t.TempDir()
	opts := []BaseOption{WithStore(store), WithCacheDir(cacheDir), countStaticPacks(&packs)}
	_, inMemory := staticLayerOf(t, amd64)
	_, first := staticLayerOf(t, amd64, opts...)
	_, second := staticLayerOf(t, arm64, opts...)
	if packs != 1 {
		t.Errorf("static layer packed %d times for two platforms with a cache, want 1", packs)
	}
	var digests []v1.Hash
	for _, l := range []v1.Layer{inMemory, first, second} {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
	}
	if digests[0] != digests[1] || digests[1] != digests[2] {
		t.Errorf("static layer digests %v, want one digest", digests)
	}
	if ok, err := store.HasBlob(digests[0], -1); err != nil || !ok {
		t.Errorf("static layer not in the store: %v, %v", ok, err)
	}
	_, z := staticLayerOf(t, amd64, WithCompression(Zstd), WithStore(store))
	checkLayer(t, z)
	if mt, _ := z.MediaType(); mt != types.OCILayerZStd {
		t.Errorf("WithCompression(Zstd): media type %s", mt)
	}
}

func TestScratchBase(t *testing.T) {
	b, err := ResolveBase(context.Background(), "scratch", amd64)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(b.Image); err != nil {
		t.Errorf("validate.Image: %v", err)
	}
	ls, _ := b.Image.Layers()
	m, _ := b.Image.Manifest()
	if len(ls) != 0 || m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON || b.Certs {
		t.Errorf("scratch: %d layers, media types %s %s, certs %v; want no layers, OCI types, no certs",
			len(ls), m.MediaType, m.Config.MediaType, b.Certs)
	}
}

func TestStaticBaseNeedsGOROOT(t *testing.T) {
	_, err := ResolveBase(context.Background(), "static", amd64, WithGOROOT(t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "zoneinfo.zip") {
		t.Errorf("ResolveBase with an empty GOROOT: error %v, want one naming zoneinfo.zip", err)
	}
	_, err = ResolveBase(context.Background(), "static", amd64, WithGoBin("/nonexistent/go"))
	if err == nil || !strings.Contains(err.Error(), "WithGOROOT") {
		t.Errorf("ResolveBase with a missing go: error %v, want a hint at WithGOROOT", err)
	}
}
