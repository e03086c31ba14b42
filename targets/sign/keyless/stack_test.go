package keyless_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/registrytest"
	"github.com/gantrybuild/gantry/targets/internal/sigstoretest"
	"github.com/gantrybuild/gantry/targets/sign"
	"github.com/gantrybuild/gantry/targets/sign/keyless"
	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

// The servers start once for the package's tests.
func TestMain(m *testing.M) { ocitest.Main(m, sigstoretest.StopShared) }

func newLayout(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hello")
	registrytest.WriteLayout(t, dir, "v1.2.3", 7, 1, 256, "linux/amd64", "linux/arm64")
	return dir
}

func newSigner(t testing.TB, st *sigstoretest.Stack, svc keyless.Services, w sigstoretest.Workflow) *keyless.Signer {
	t.Helper()
	tok, err := st.TokenFor(w)
	if err != nil {
		t.Fatal(err)
	}
	s, err := keyless.New(keyless.Options{Services: svc, Token: keyless.TokenSource{IDToken: tok}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func trustedRoot(t testing.TB, st *sigstoretest.Stack) root.TrustedMaterial {
	t.Helper()
	tr, err := root.NewTrustedRootFromPath(st.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// A layout signed keyless against the real Fulcio, Rekor v2 and TSA
// verifies offline by identity; a rerun keeps the signatures; a wrong
// identity, a wrong issuer and a tampered bundle fail.
func TestSignAndVerifyLayout(t *testing.T) {
	st := sigstoretest.Shared(t)
	ctx := context.Background()
	svc := keyless.Services{Fulcio: st.FulcioURL, Rekor: st.RekorURL, TSA: st.TSAURL}
	dir := newLayout(t)
	signed, err := sign.Layout(ctx, dir, newSigner(t, st, svc, sigstoretest.DefaultWorkflow()))
	if err != nil {
		t.Fatalf("signing: %v\n%s", err, st.Logs())
	}
	if len(signed) != 3 {
		t.Fatalf("signed %d manifests, want the index and two platforms", len(signed))
	}
	for _, s := range signed {
		if s.Bundle != sign.Added || s.Legacy != sign.Added {
			t.Errorf("%s: bundle %s, legacy %s; want both signed", s.Name, s.Bundle, s.Legacy)
		}
	}
	tr := trustedRoot(t, st)
	wf := sigstoretest.DefaultWorkflow()
	good := sign.Identity{Subject: wf.Identity(), Issuer: st.IssuerURL, Root: tr}
	if _, err := sign.VerifyLayout(ctx, dir, nil, sign.WithKeyless(good)); err != nil {
		t.Fatalf("verify with the signer's identity: %v", err)
	}
	byRegexp := sign.Identity{SubjectRegexp: `^https://github\.com/org/app/\.github/workflows/release\.yml@refs/tags/.*$`, Issuer: st.IssuerURL, Root: tr}
	if _, err := sign.VerifyLayout(ctx, dir, nil, sign.WithKeyless(byRegexp)); err != nil {
		t.Errorf("verify with an identity regexp: %v", err)
	}
	for _, f := range []sign.Formats{sign.Bundle, sign.Legacy} {
		if _, err := sign.VerifyLayout(ctx, dir, nil, sign.WithKeyless(good), sign.WithFormats(f)); err != nil {
			t.Errorf("verify %s alone: %v", f, err)
		}
	}

	// A second run of the same workflow (new ephemeral key, new
	// certificate) keeps the signatures there.
	again, err := sign.Layout(ctx, dir, newSigner(t, st, svc, wf))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range again {
		if s.Bundle != sign.Kept || s.Legacy != sign.Kept {
			t.Errorf("rerun: %s: bundle %s, legacy %s; want both kept", s.Name, s.Bundle, s.Legacy)
		}
	}

	for name, id := range map[string]sign.Identity{
		"wrong identity": {Subject: "https://github.com/org/app/.github/workflows/other.yml@refs/tags/v1.2.3", Issuer: st.IssuerURL, Root: tr},
		"wrong issuer":   {Subject: wf.Identity(), Issuer: "https://token.actions.githubusercontent.com", Root: tr},
	} {
		_, err := sign.VerifyLayout(ctx, dir, nil, sign.WithKeyless(id))
		if !errors.Is(err, sign.ErrUnverified) {
			t.Errorf("%s: verify error %v, want ErrUnverified", name, err)
		}
	}

	// Flip a bit of the index's bundle signature: the bundle no longer
	// verifies (the legacy signature still does).
	idx := signed[0].Digest
	tamperBundleSignature(t, dir, idx)
	_, err = sign.VerifyLayout(ctx, dir, nil, sign.WithKeyless(good), sign.WithFormats(sign.Bundle))
	if !errors.Is(err, sign.ErrUnverified) || !strings.Contains(err.Error(), idx.String()) {
		t.Errorf("tampered bundle: verify error %v, want ErrUnverified naming %s", err, idx)
	}
	if _, err := sign.VerifyLayout(ctx, dir, nil, sign.WithKeyless(good), sign.WithFormats(sign.Legacy)); err != nil {
		t.Errorf("legacy signatures after the bundle was tampered with: %v", err)
	}
}

// With timestamps only (no log) the signatures verify against a root that
// names no log; the signing config file selects the same services as the
// URLs do.
func TestTimestampOnlyAndSigningConfig(t *testing.T) {
	st := sigstoretest.Shared(t)
	ctx := context.Background()
	dir := newLayout(t)
	if _, err := sign.Layout(ctx, dir, newSigner(t, st, keyless.Services{Fulcio: st.FulcioURL, TSA: st.TSAURL}, sigstoretest.DefaultWorkflow())); err != nil {
		t.Fatalf("signing with timestamps only: %v", err)
	}
	raw, err := os.ReadFile(st.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "tlogs")
	noLog, _ := json.Marshal(m)
	tr, err := root.NewTrustedRootFromJSON(noLog)
	if err != nil {
		t.Fatal(err)
	}
	id := sign.Identity{Subject: sigstoretest.DefaultWorkflow().Identity(), Issuer: st.IssuerURL, Root: tr}
	if _, err := sign.VerifyLayout(ctx, dir, nil, sign.WithKeyless(id)); err != nil {
		t.Errorf("verify timestamp-only signatures: %v", err)
	}
	// The full root names a log, so it requires a log entry.
	id.Root = trustedRoot(t, st)
	if _, err := sign.VerifyLayout(ctx, dir, nil, sign.WithKeyless(id), sign.WithFormats(sign.Bundle)); !errors.Is(err, sign.ErrUnverified) {
		t.Errorf("verify unlogged bundles against a root with a log: %v, want ErrUnverified", err)
	}

	svc, err := keyless.FromSigningConfig(st.SigningConfig, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := (keyless.Services{Fulcio: st.FulcioURL, Rekor: st.RekorURL, TSA: st.TSAURL}); svc != want {
		t.Errorf("services from the signing config = %+v, want %+v", svc, want)
	}
}

// tamperBundleSignature flips a bit of the signature in the signing bundle
// of manifest h, rewriting the blobs and the fallback index that lead to it.
func tamperBundleSignature(t testing.TB, dir string, h v1.Hash) {
	t.Helper()
	var ij v1.IndexManifest
	readJSON(t, filepath.Join(dir, "index.json"), &ij)
	fi := -1
	for i, d := range ij.Manifests {
		if d.Annotations[sigtag.RefName] == sigtag.Fallback(h) {
			fi = i
		}
	}
	if fi < 0 {
		t.Fatalf("no fallback index for %s", h)
	}
	var fallback v1.IndexManifest
	readJSON(t, blobPath(dir, ij.Manifests[fi].Digest), &fallback)
	for i, rd := range fallback.Manifests {
		if rd.Annotations[sign.BundlePredicateAnnotation] != sign.SignPredicateType {
			continue
		}
		var rm v1.Manifest
		readJSON(t, blobPath(dir, rd.Digest), &rm)
		var b map[string]any
		readJSON(t, blobPath(dir, rm.Layers[0].Digest), &b)
		sigs := b["dsseEnvelope"].(map[string]any)["signatures"].([]any)
		s0 := sigs[0].(map[string]any)
		sig, err := base64.StdEncoding.DecodeString(s0["sig"].(string))
		if err != nil {
			t.Fatal(err)
		}
		sig[len(sig)/2] ^= 1
		s0["sig"] = base64.StdEncoding.EncodeToString(sig)
		rm.Layers[0] = writeBlob(t, dir, rm.Layers[0], mustJSON(t, b))
		fallback.Manifests[i] = writeBlob(t, dir, rd, mustJSON(t, rm))
		ij.Manifests[fi] = writeBlob(t, dir, ij.Manifests[fi], mustJSON(t, fallback))
		if err := os.WriteFile(filepath.Join(dir, "index.json"), mustJSON(t, ij), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no signing bundle for %s", h)
}

func blobPath(dir string, h v1.Hash) string { return filepath.Join(dir, "blobs", h.Algorithm, h.Hex) }

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// writeBlob stores data and returns d describing it instead.
func writeBlob(t testing.TB, dir string, d v1.Descriptor, data []byte) v1.Descriptor {
	t.Helper()
	sum := sha256.Sum256(data)
	d.Digest = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	d.Size = int64(len(data))
	if err := os.WriteFile(blobPath(dir, d.Digest), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}
