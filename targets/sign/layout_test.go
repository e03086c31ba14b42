package sign_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/registrytest"
	"github.com/gantrybuild/gantry/targets/internal/shared"
	"github.com/gantrybuild/gantry/targets/ocidir"
	"github.com/gantrybuild/gantry/targets/sign"
	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

var ctx = context.Background()

// Every key type signs every manifest in the formats asked for, the layout
// stays valid, and verification with that key passes.
func TestSignVerifyRoundTrip(t *testing.T) {
	for _, kind := range []string{"p256", "p384", "ed25519", "rsa"} {
		for _, f := range []sign.Formats{sign.Both, sign.Bundle, sign.Legacy} {
			t.Run(kind+"/"+f.String(), func(t *testing.T) {
				dir := newLayout(t, 1)
				images := readIndexJSON(t, dir).Manifests
				s := newSigner(t, kind)
				got, err := sign.Layout(ctx, dir, s, sign.WithFormats(f))
				if err != nil {
					t.Fatal(err)
				}
				want := []sign.Signed{}
				for _, d := range images {
					w := sign.Signed{Name: d.Annotations[sigtag.RefName], Digest: d.Digest, Bundle: sign.Off, Legacy: sign.Off}
					if f&sign.Bundle != 0 {
						w.Bundle = sign.Added
					}
					if f&sign.Legacy != 0 {
						w.Legacy = sign.Added
					}
					want = append(want, w)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Layout (-want +got):\n%s", diff)
				}
				ocitest.ValidateLayout(t, dir)

				// index.json: the images as they were, then one entry per
				// signed manifest and format, sorted by name.
				im := readIndexJSON(t, dir)
				if diff := cmp.Diff(images, im.Manifests[:len(images)]); diff != "" {
					t.Errorf("image entries changed (-before +after):\n%s", diff)
				}
				var names []string
				for _, d := range im.Manifests[len(images):] {
					names = append(names, d.Annotations[sigtag.RefName])
					if d.ArtifactType != "" || d.Platform != nil {
						t.Errorf("signature entry %s has artifactType %q / platform %v: skopeo drops them", d.Annotations[sigtag.RefName], d.ArtifactType, d.Platform)
					}
				}
				var wantNames []string
				for _, d := range images {
					if f&sign.Bundle != 0 {
						wantNames = append(wantNames, sigtag.Fallback(d.Digest))
					}
					if f&sign.Legacy != 0 {
						wantNames = append(wantNames, sigtag.Signature(d.Digest))
					}
				}
				slices.Sort(wantNames)
				if diff := cmp.Diff(wantNames, names); diff != "" {
					t.Errorf("signature entries (-want +got):\n%s", diff)
				}

				r, err := sign.VerifyLayout(ctx, dir, s.PublicKey(), sign.WithFormats(f))
				if err != nil {
					t.Fatal(err)
				}
				if len(r.Checks) != len(images) {
					t.Errorf("verified %d manifests, want %d", len(r.Checks), len(images))
				}
				for _, c := range r.Checks {
					if (f&sign.Bundle != 0) != (c.Bundle.Valid == 1) || (f&sign.Legacy != 0) != (c.Legacy.Valid == 1) {
						t.Errorf("%s: bundle %+v, legacy %+v", c.Name, c.Bundle, c.Legacy)
					}
				}
				if f != sign.Both {
					_, err := sign.VerifyLayout(ctx, dir, s.PublicKey(), sign.WithFormats(sign.Both^f))
					wantUnverified(t, err, "unsigned")
				}
			})
		}
	}
}

// Re-signing with the same key changes nothing: no file is written.
func TestResignWritesNothing(t *testing.T) {
	dir := newLayout(t, 1)
	s := newSigner(t, "p256")
	if _, err := sign.Layout(ctx, dir, s); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	got, err := sign.Layout(ctx, dir, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if r.Bundle != sign.Kept || r.Legacy != sign.Kept {
			t.Errorf("re-signing %s: bundle %s, legacy %s; want both kept", r.Name, r.Bundle, r.Legacy)
		}
	}
	if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
		t.Errorf("re-signing changed the layout (-before +after):\n%s", diff)
	}
}

// A second key adds its signature beside the first; each key verifies.
func TestSecondKeyAddsSignatures(t *testing.T) {
	dir := newLayout(t, 1)
	a, b := newSigner(t, "p256"), newSigner(t, "ed25519")
	for _, s := range []sign.Signer{a, b, a} {
		if _, err := sign.Layout(ctx, dir, s); err != nil {
			t.Fatal(err)
		}
	}
	idx := entry(t, dir, version).Digest
	var sig v1.Manifest
	json.Unmarshal(readBlob(t, dir, entry(t, dir, sigtag.Signature(idx)).Digest), &sig)
	if len(sig.Layers) != 2 {
		t.Errorf("legacy signature manifest has %d signatures, want 2", len(sig.Layers))
	}
	var refs v1.IndexManifest
	json.Unmarshal(readBlob(t, dir, entry(t, dir, sigtag.Fallback(idx)).Digest), &refs)
	if len(refs.Manifests) != 2 {
		t.Errorf("referrers index lists %d bundles, want 2", len(refs.Manifests))
	}
	for _, s := range []sign.Signer{a, b} {
		if _, err := sign.VerifyLayout(ctx, dir, s.PublicKey()); err != nil {
			t.Errorf("verifying with one of two keys: %v", err)
		}
	}
	ocitest.ValidateLayout(t, dir)
}

// Ed25519 signatures are deterministic, so two signings of the same layout
// are byte for byte the same: nothing but the signature varies.
func TestSigningIsDeterministic(t *testing.T) {
	s := newSigner(t, "ed25519")
	var got []map[string]string
	for range 2 {
		dir := newLayout(t, 7)
		if _, err := sign.Layout(ctx, dir, s); err != nil {
			t.Fatal(err)
		}
		snap := snapshot(t, dir)
		for k, v := range snap {
			snap[k] = strings.Fields(v)[0] // content only
		}
		got = append(got, snap)
	}
	if diff := cmp.Diff(got[0], got[1]); diff != "" {
		t.Errorf("two signings differ (-first +second):\n%s", diff)
	}
}

// Signing reaches the manifests of an index that index.json does not name.
func TestSignsChildrenOfIndex(t *testing.T) {
	dir := registrytest.IndexOnlyLayout(t, newLayout(t, 1))
	s := newSigner(t, "p256")
	got, err := sign.Layout(ctx, dir, s)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range got {
		names = append(names, r.Name)
	}
	if diff := cmp.Diff([]string{version, version + " linux/amd64", version + " linux/arm64"}, names); diff != "" {
		t.Errorf("signed (-want +got):\n%s", diff)
	}
	if _, err := sign.VerifyLayout(ctx, dir, s.PublicKey()); err != nil {
		t.Error(err)
	}
}

// Tampering with a manifest, a payload or a signature, or verifying with
// another key, fails and names the manifest.
func TestTamperingFails(t *testing.T) {
	s := newSigner(t, "p256")
	arm := func(t *testing.T, dir string) v1.Descriptor { return entry(t, dir, version+"-arm64") }
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, dir string)
		key    func() any
		want   []string
	}{
		{"corrupt manifest", func(t *testing.T, dir string) {
			d := arm(t, dir)
			os.WriteFile(filepath.Join(dir, "blobs", "sha256", d.Digest.Hex), []byte(`{"schemaVersion":2}`), 0o644)
		}, nil, []string{version + "-arm64", "corrupt"}},
		{"replaced manifest", func(t *testing.T, dir string) {
			rewriteManifest(t, dir, version+"-arm64", func(m map[string]any) {
				m["annotations"] = map[string]any{"evil": "yes"}
			})
		}, nil, []string{version + "-arm64", "bundle unsigned", "legacy signature unsigned"}},
		{"legacy payload digest", func(t *testing.T, dir string) {
			d := arm(t, dir)
			other := entry(t, dir, version+"-amd64").Digest
			rewriteLegacyPayload(t, dir, d.Digest, func(p string) string { return strings.ReplaceAll(p, d.Digest.Hex, other.Hex) })
		}, nil, []string{version + "-arm64", "legacy signature invalid: payload names manifest sha256:"}},
		{"legacy payload identity", func(t *testing.T, dir string) {
			rewriteLegacyPayload(t, dir, arm(t, dir).Digest, func(p string) string { return strings.Replace(p, `"hello"`, `"evil.example/hello"`, 1) })
		}, nil, []string{version + "-arm64", "legacy signature invalid: signature does not verify with the key"}},
		{"legacy signature", func(t *testing.T, dir string) {
			rewriteManifest(t, dir, sigtag.Signature(arm(t, dir).Digest), func(m map[string]any) {
				l := layers(m)[0].(map[string]any)
				ann := l["annotations"].(map[string]any)
				ann[sign.SignatureAnnotation] = flipBase64(t, ann[sign.SignatureAnnotation].(string))
			})
		}, nil, []string{version + "-arm64", "legacy signature invalid: signature does not verify with the key"}},
		{"bundle payload", func(t *testing.T, dir string) {
			rewriteBundle(t, dir, arm(t, dir).Digest, func(b map[string]any) {
				env := b["dsseEnvelope"].(map[string]any)
				p, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
				p = []byte(strings.Replace(string(p), "sigstore.dev/cosign/sign/v1", "sigstore.dev/cosign/sign/v1#", 1))
				env["payload"] = base64.StdEncoding.EncodeToString(p)
			})
		}, nil, []string{version + "-arm64", "bundle unsigned"}}, // no longer a cosign signature
		{"bundle subject", func(t *testing.T, dir string) {
			other := entry(t, dir, version+"-amd64").Digest
			rewriteBundle(t, dir, arm(t, dir).Digest, func(b map[string]any) {
				env := b["dsseEnvelope"].(map[string]any)
				p, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
				p = []byte(strings.ReplaceAll(string(p), arm(t, dir).Digest.Hex, other.Hex))
				env["payload"] = base64.StdEncoding.EncodeToString(p)
			})
		}, nil, []string{version + "-arm64", "bundle invalid", "not manifest " + "sha256:"}},
		{"bundle signature", func(t *testing.T, dir string) {
			rewriteBundle(t, dir, arm(t, dir).Digest, func(b map[string]any) {
				sig := b["dsseEnvelope"].(map[string]any)["signatures"].([]any)[0].(map[string]any)
				sig["sig"] = flipBase64(t, sig["sig"].(string))
			})
		}, nil, []string{version + "-arm64", "bundle invalid", "signature does not verify with the key"}},
		{"wrong key", func(*testing.T, string) {}, func() any { return newSigner(t, "p256").PublicKey() },
			[]string{version + " ", version + "-amd64", version + "-arm64", "bundle invalid", "legacy signature invalid"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := newLayout(t, 1)
			if _, err := sign.Layout(ctx, dir, s); err != nil {
				t.Fatal(err)
			}
			tc.tamper(t, dir)
			key := s.PublicKey()
			if tc.key != nil {
				key = tc.key()
			}
			r, err := sign.VerifyLayout(ctx, dir, key)
			t.Log(err)
			wantUnverified(t, err, tc.want...)
			failed := 0
			for _, c := range r.Checks {
				if !c.OK() {
					failed++
				}
			}
			if want := map[bool]int{true: 3, false: 1}[tc.key != nil]; failed != want {
				t.Errorf("%d manifests failed, want %d:\n%v", failed, want, err)
			}
		})
	}
}

// flipBase64 changes one bit of a base64 value.
func flipBase64(t *testing.T, s string) string {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	return base64.StdEncoding.EncodeToString(b)
}

// rewriteLegacyPayload edits the payload of the legacy signature of h and
// fixes up the digests, keeping the signature.
func rewriteLegacyPayload(t *testing.T, dir string, h v1.Hash, f func(string) string) {
	rewriteManifest(t, dir, sigtag.Signature(h), func(m map[string]any) {
		l := layers(m)[0].(map[string]any)
		old, _ := v1.NewHash(l["digest"].(string))
		p := putBlob(t, dir, sign.SimpleSigningMediaType, []byte(f(string(readBlob(t, dir, old)))))
		l["digest"], l["size"] = p.Digest.String(), p.Size
	})
}

// rewriteBundle edits the bundle attached to h and fixes up the referrer
// manifest and the fallback index.
func rewriteBundle(t *testing.T, dir string, h v1.Hash, f func(map[string]any)) {
	rewriteManifest(t, dir, sigtag.Fallback(h), func(idx map[string]any) {
		ref := idx["manifests"].([]any)[0].(map[string]any)
		rd, _ := v1.NewHash(ref["digest"].(string))
		var m map[string]any
		json.Unmarshal(readBlob(t, dir, rd), &m)
		l := layers(m)[0].(map[string]any)
		bd, _ := v1.NewHash(l["digest"].(string))
		var b map[string]any
		json.Unmarshal(readBlob(t, dir, bd), &b)
		f(b)
		raw, _ := json.Marshal(b)
		nb := putBlob(t, dir, sign.BundleMediaType, raw)
		l["digest"], l["size"] = nb.Digest.String(), nb.Size
		mraw, _ := json.Marshal(m)
		nm := putBlob(t, dir, string(v1.Descriptor{}.MediaType), mraw)
		ref["digest"], ref["size"] = nm.Digest.String(), nm.Size
	})
}

// Nothing to sign: no layout (which stays absent) or an empty one.
func TestNothingToSign(t *testing.T) {
	s := newSigner(t, "p256")
	missing := filepath.Join(t.TempDir(), "dist", "oci", "hello")
	if _, err := sign.Layout(ctx, missing, s); !errors.Is(err, sign.ErrNoLayout) || !needs(err, "index") {
		t.Errorf("signing a missing layout: %v, want ErrNoLayout with a hint", err)
	}
	if _, err := os.Stat(filepath.Dir(missing)); err == nil {
		t.Errorf("signing a missing layout created %s", filepath.Dir(missing))
	}
	if _, err := sign.VerifyLayout(ctx, missing, s.PublicKey()); !errors.Is(err, sign.ErrNoLayout) {
		t.Errorf("verifying a missing layout: %v, want ErrNoLayout", err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if _, err := ocidir.Open(empty); err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Layout(ctx, empty, s); err == nil || !strings.Contains(err.Error(), "nothing to sign") {
		t.Errorf("signing an empty layout: %v, want nothing to sign", err)
	}
}

// A failure in the middle of signing (a KMS going away, a key that does
// not match its public key) leaves the layout as it was.
func TestFailureLeavesLayoutUntouched(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    func(t *testing.T) sign.Signer
		want string
	}{
		{"kms goes away", func(t *testing.T) sign.Signer { return &failingSigner{Signer: newSigner(t, "p256"), n: 4} }, "KMS unreachable"},
		{"key mismatch", func(t *testing.T) sign.Signer {
			return liarSigner{Signer: newSigner(t, "p256"), claimed: newSigner(t, "p256").PublicKey()}
		}, "key and algorithm do not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := newLayout(t, 1)
			before := snapshot(t, dir)
			if _, err := sign.Layout(ctx, dir, tc.s(t)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
			if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
				t.Errorf("a failed signing changed the layout (-before +after):\n%s", diff)
			}
		})
	}
}

// The report names each manifest and what each format holds.
func TestReportPrint(t *testing.T) {
	dir := newLayout(t, 1)
	s := newSigner(t, "p256")
	sign.Layout(ctx, dir, s, sign.WithFormats(sign.Legacy))
	r, err := sign.VerifyLayout(ctx, dir, s.PublicKey())
	wantUnverified(t, err, "bundle unsigned")
	var b strings.Builder
	r.Print(&b)
	for _, want := range []string{version + "-amd64", "FAILED (bundle: unsigned, legacy: ok)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

// needs reports whether err says to run step first (a shared.NeedStep,
// which the targets package spells as the user's command).
func needs(err error, step string) bool {
	var ns *shared.NeedStep
	return errors.As(err, &ns) && strings.Contains(ns.Fix, "{"+step+"}")
}
