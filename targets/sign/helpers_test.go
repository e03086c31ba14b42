package sign_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gantrybuild/gantry/targets/internal/registrytest"
	"github.com/gantrybuild/gantry/targets/sign"
	"github.com/gantrybuild/gantry/targets/sign/keys"
	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

const version = "v1.2.3"

// newLayout writes what the index step leaves for two platforms; the same
// seed gives the same layout.
func newLayout(t testing.TB, seed int64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hello")
	registrytest.WriteLayout(t, dir, version, seed, 1, 512, "linux/amd64", "linux/arm64")
	return dir
}

var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// newKey makes a private key of a kind: p256, p384, ed25519 or rsa.
func newKey(t testing.TB, kind string) crypto.Signer {
	t.Helper()
	var k crypto.Signer
	var err error
	switch kind {
	case "p256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p384":
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ed25519":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	case "rsa":
		k = rsaKey()
	default:
		t.Fatalf("unknown key kind %s", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newSigner(t testing.TB, kind string) sign.Signer {
	t.Helper()
	s, err := keys.NewSigner(kind, newKey(t, kind))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// failingSigner fails from its nth signature on, as an unreachable KMS
// would in the middle of a run.
type failingSigner struct {
	sign.Signer
	n     int32
	count atomic.Int32
}

func (f *failingSigner) Sign(ctx context.Context, m []byte) ([]byte, error) {
	if f.count.Add(1) >= f.n {
		return nil, errors.New("KMS unreachable")
	}
	return f.Signer.Sign(ctx, m)
}

// liarSigner claims a public key that is not its own: what a
// misconfigured KMS (key and algorithm mismatch) looks like.
type liarSigner struct {
	sign.Signer
	claimed crypto.PublicKey
}

func (l liarSigner) PublicKey() crypto.PublicKey { return l.claimed }

// snapshot hashes every file under dir, to prove a step changed nothing.
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	return ocitest.Snapshot(t, dir)
}

func readIndexJSON(t testing.TB, dir string) *v1.IndexManifest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(raw, &im); err != nil {
		t.Fatal(err)
	}
	return &im
}

// entry returns the index.json entry named ref.
func entry(t testing.TB, dir, ref string) v1.Descriptor {
	t.Helper()
	for _, d := range readIndexJSON(t, dir).Manifests {
		if d.Annotations[sigtag.RefName] == ref {
			return d
		}
	}
	t.Fatalf("%s names no %s", dir, ref)
	return v1.Descriptor{}
}

func readBlob(t testing.TB, dir string, h v1.Hash) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "blobs", h.Algorithm, h.Hex))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// putBlob writes data into the layout and returns its descriptor.
func putBlob(t testing.TB, dir string, mt string, data []byte) v1.Descriptor {
	t.Helper()
	h, n, _ := v1.SHA256(bytes.NewReader(data))
	if err := os.WriteFile(filepath.Join(dir, "blobs", h.Algorithm, h.Hex), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return v1.Descriptor{MediaType: types.MediaType(mt), Size: n, Digest: h}
}

// setEntry points the index.json entry named ref at d, as a tool that
// rewrites a layout would.
func setEntry(t testing.TB, dir, ref string, d v1.Descriptor) {
	t.Helper()
	im := readIndexJSON(t, dir)
	found := false
	for i, e := range im.Manifests {
		if e.Annotations[sigtag.RefName] == ref {
			d.Annotations = e.Annotations
			d.Platform = e.Platform
			im.Manifests[i], found = d, true
		}
	}
	if !found {
		t.Fatalf("no entry %s", ref)
	}
	raw, _ := json.Marshal(im)
	if err := os.WriteFile(filepath.Join(dir, "index.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// rewriteManifest applies f to the JSON manifest the entry ref names (or,
// with child set, to the manifest of that descriptor inside it) and
// rewrites the chain up to index.json.
func rewriteManifest(t testing.TB, dir, ref string, f func(m map[string]any)) {
	t.Helper()
	d := entry(t, dir, ref)
	var m map[string]any
	if err := json.Unmarshal(readBlob(t, dir, d.Digest), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	raw, _ := json.Marshal(m)
	setEntry(t, dir, ref, putBlob(t, dir, string(d.MediaType), raw))
}

// layers returns a manifest's layers as JSON maps (to edit them).
func layers(m map[string]any) []any { return m["layers"].([]any) }

func wantUnverified(t testing.TB, err error, wants ...string) {
	t.Helper()
	if !errors.Is(err, sign.ErrUnverified) {
		t.Fatalf("error = %v, want ErrUnverified", err)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not say %q:\n%v", w, err)
		}
	}
}
