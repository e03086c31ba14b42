package sign_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/registrytest"
	"github.com/gantrybuild/gantry/targets/push"
	"github.com/gantrybuild/gantry/targets/sign"
	"github.com/gantrybuild/gantry/targets/sign/keys"
	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

// anonymous keeps tests off this machine's docker credentials.
type anonymous struct{}

func (anonymous) Resolve(authn.Resource) (authn.Authenticator, error) { return authn.Anonymous, nil }

// pushLayout publishes a layout with Gantry's push.
func pushLayout(t testing.TB, dir, repo string) {
	t.Helper()
	r, err := name.NewRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	_, err = push.Layouts(ctx, []push.Image{{Name: "hello", Layout: dir, Repos: []name.Repository{r}}},
		push.WithProgress(push.Quiet()), push.WithKeychain(anonymous{}))
	if err != nil {
		t.Fatalf("push to %s: %v", repo, err)
	}
}

// keyPair writes a cosign key pair (keygen's) into a temp dir.
func keyPair(t testing.TB) (keyPath, pubPath string, s sign.Signer) {
	t.Helper()
	keyPath, pubPath, err := keys.WriteKeyPair(filepath.Join(t.TempDir(), "cosign"), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	s, err = keys.LoadSigner(ctx, keys.Ref{Key: keyPath, Password: []byte("pw")})
	if err != nil {
		t.Fatal(err)
	}
	return keyPath, pubPath, s
}

// cosign runs a cosign CLI offline (no TUF, no Rekor) with a fresh HOME.
func cosign(t testing.TB, tool string, args ...string) (string, error) {
	t.Helper()
	bin := ocitest.NeedTool(t, tool)
	cmd := exec.Command(bin, args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "COSIGN_PASSWORD=pw", "DOCKER_CONFIG="+home)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// trustedRoot is the empty trusted root offline verification needs.
func trustedRoot(t testing.TB) string {
	p := filepath.Join(t.TempDir(), "trusted_root.json")
	os.WriteFile(p, []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o644)
	return p
}

// subjects are the index and platform digests of a layout, by name.
func subjects(t testing.TB, dir string) map[string]v1.Hash {
	out := map[string]v1.Hash{}
	for _, d := range readIndexJSON(t, dir).Manifests {
		if n := d.Annotations[sigtag.RefName]; !sigtag.Is(n) {
			out[n] = d.Digest
		}
	}
	return out
}

// cosign v2 and v3 verify what Gantry signed and pushed, for the index and
// each platform, in each format alone (flags make each cosign read that
// format only) and in both; an unrelated key fails.
func TestCosignVerifiesGantrySignatures(t *testing.T) {
	reg := registrytest.Start(t)
	_, pubPath, s := keyPair(t)
	_, otherPub, _ := keyPair(t)
	root := trustedRoot(t)
	for _, tc := range []struct {
		formats sign.Formats
		flags   map[string][]string // cosign tool → flags that select the format
	}{
		{sign.Bundle, map[string][]string{"cosign-v2": {"--new-bundle-format=true"}, "cosign-v3": nil}},
		{sign.Legacy, map[string][]string{"cosign-v2": nil, "cosign-v3": {"--new-bundle-format=false"}}},
		{sign.Both, map[string][]string{"cosign-v2": nil, "cosign-v3": nil}},
	} {
		t.Run(tc.formats.String(), func(t *testing.T) {
			dir := newLayout(t, int64(tc.formats))
			if _, err := sign.Layout(ctx, dir, s, sign.WithFormats(tc.formats)); err != nil {
				t.Fatal(err)
			}
			repo := reg.Repo("hello-" + tc.formats.String())
			pushLayout(t, dir, repo)
			for _, tool := range []string{"cosign-v2", "cosign-v3"} {
				for n, h := range subjects(t, dir) {
					ref := repo + "@" + h.String()
					args := append([]string{"verify", "--key", pubPath, "--insecure-ignore-tlog=true", "--trusted-root", root}, tc.flags[tool]...)
					if out, err := cosign(t, tool, append(args, ref)...); err != nil {
						t.Errorf("%s verify %s (%s): %v\n%s", tool, n, strings.Join(tc.flags[tool], " "), err, out)
					}
					bad := append([]string{"verify", "--key", otherPub, "--insecure-ignore-tlog=true", "--trusted-root", root}, tc.flags[tool]...)
					if out, err := cosign(t, tool, append(bad, ref)...); err == nil {
						t.Errorf("%s verify %s with an unrelated key succeeded:\n%s", tool, n, out)
					}
				}
			}
		})
	}
}

// Gantry verifies what `cosign sign` made: cosign v2's legacy signatures
// and cosign v3's bundles, of the index and (--recursive) each platform.
func TestVerifiesCosignSignatures(t *testing.T) {
	reg := registrytest.Start(t)
	keyPath, _, s := keyPair(t)
	for _, tc := range []struct {
		tool    string
		flags   []string
		formats sign.Formats
	}{
		{"cosign-v2", nil, sign.Legacy},
		{"cosign-v3", []string{"--use-signing-config=false"}, sign.Bundle},
	} {
		t.Run(tc.tool, func(t *testing.T) {
			dir := newLayout(t, 3)
			repo := reg.Repo("cosigned-" + tc.formats.String())
			pushLayout(t, dir, repo)
			idx := subjects(t, dir)[version]
			args := append([]string{"sign", "--key", keyPath, "--tlog-upload=false", "--recursive", "--yes"}, tc.flags...)
			if out, err := cosign(t, tc.tool, append(args, repo+"@"+idx.String())...); err != nil {
				t.Fatalf("%s sign: %v\n%s", tc.tool, err, out)
			}
			ref, _ := name.ParseReference(repo + ":" + version)
			r, err := sign.VerifyRemote(ctx, ref, s.PublicKey(), sign.WithFormats(tc.formats), sign.WithRemoteOptions(remote.WithAuthFromKeychain(anonymous{})))
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Checks) != 3 {
				t.Errorf("checked %d manifests, want the index and 2 platforms", len(r.Checks))
			}
			other := newSigner(t, "p256")
			_, err = sign.VerifyRemote(ctx, ref, other.PublicKey(), sign.WithFormats(tc.formats), sign.WithRemoteOptions(remote.WithAuthFromKeychain(anonymous{})))
			wantUnverified(t, err, "does not verify with the key")
		})
	}
}

// Signatures go through push intact and verify in the registry; pushing
// again, and re-signing and pushing again, adds no duplicate.
func TestPushedSignaturesVerify(t *testing.T) {
	reg := registrytest.Start(t)
	_, _, s := keyPair(t)
	dir := newLayout(t, 4)
	if _, err := sign.Layout(ctx, dir, s); err != nil {
		t.Fatal(err)
	}
	repo := reg.Repo("hello")
	ropts := sign.WithRemoteOptions(remote.WithAuthFromKeychain(anonymous{}))
	for range 2 {
		pushLayout(t, dir, repo)
		if _, err := sign.Layout(ctx, dir, s); err != nil {
			t.Fatal(err)
		}
	}
	for n, h := range subjects(t, dir) {
		ref, _ := name.ParseReference(repo + "@" + h.String())
		if _, err := sign.VerifyRemote(ctx, ref, s.PublicKey(), ropts); err != nil {
			t.Errorf("%s: %v", n, err)
		}
		fb, _ := name.ParseReference(repo + ":" + sigtag.Fallback(h))
		img, err := remote.Index(fb, remote.WithAuthFromKeychain(anonymous{}))
		if err != nil {
			t.Fatal(err)
		}
		im, _ := img.IndexManifest()
		if len(im.Manifests) != 1 {
			t.Errorf("%s: the referrers tag lists %d bundles, want 1", n, len(im.Manifests))
		}
		// What the registry serves is what the layout holds.
		if want := entry(t, dir, sigtag.Fallback(h)).Digest; mustDigest(t, img) != want {
			t.Errorf("%s: the registry's referrers index is %s, the layout's %s", n, mustDigest(t, img), want)
		}
	}
}

func mustDigest(t testing.TB, idx interface{ Digest() (v1.Hash, error) }) v1.Hash {
	h, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Every key type Gantry accepts verifies with cosign, in both formats.
func TestCosignVerifiesKeyTypes(t *testing.T) {
	reg := registrytest.Start(t)
	root := trustedRoot(t)
	for _, kind := range []string{"p384", "ed25519", "rsa"} {
		t.Run(kind, func(t *testing.T) {
			s := newSigner(t, kind)
			pub, err := cryptoutils.MarshalPublicKeyToPEM(s.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			pubPath := filepath.Join(t.TempDir(), "cosign.pub")
			os.WriteFile(pubPath, pub, 0o644)
			for _, f := range []sign.Formats{sign.Bundle, sign.Legacy} {
				dir := newLayout(t, 10+int64(f))
				if _, err := sign.Layout(ctx, dir, s, sign.WithFormats(f)); err != nil {
					t.Fatal(err)
				}
				repo := reg.Repo(kind + "-" + f.String())
				pushLayout(t, dir, repo)
				h := subjects(t, dir)[version]
				for _, tool := range []string{"cosign-v2", "cosign-v3"} {
					flag := map[sign.Formats]string{sign.Bundle: "--new-bundle-format=true", sign.Legacy: "--new-bundle-format=false"}[f]
					if out, err := cosign(t, tool, "verify", "--key", pubPath, "--insecure-ignore-tlog=true", "--trusted-root", root, flag, repo+"@"+h.String()); err != nil {
						t.Errorf("%s verify (%s, %s): %v\n%s", tool, kind, f, err, lastLines(out, 3))
					}
				}
			}
		})
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// A corrupt signature fails the push before anything is uploaded: no tag
// names the image.
func TestPushRefusesCorruptSignature(t *testing.T) {
	reg := registrytest.Start(t)
	dir := newLayout(t, 5)
	s := newSigner(t, "p256")
	if _, err := sign.Layout(ctx, dir, s, sign.WithFormats(sign.Legacy)); err != nil {
		t.Fatal(err)
	}
	var sig v1.Manifest
	json.Unmarshal(readBlob(t, dir, entry(t, dir, sigtag.Signature(subjects(t, dir)[version])).Digest), &sig)
	payload := sig.Layers[0].Digest
	os.WriteFile(filepath.Join(dir, "blobs", "sha256", payload.Hex), []byte(`{"critical":{}}`), 0o644)

	r, _ := name.NewRepository(reg.Repo("corrupt"))
	_, err := push.Layouts(ctx, []push.Image{{Name: "hello", Layout: dir, Repos: []name.Repository{r}}},
		push.WithProgress(push.Quiet()), push.WithKeychain(anonymous{}))
	if err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("push of a layout with a corrupt signature: %v, want a refusal", err)
	}
	if _, err := remote.Head(r.Tag(version), remote.WithAuthFromKeychain(anonymous{})); err == nil {
		t.Errorf("the failed push tagged %s", version)
	}
}

// Two signers push the same image: the registry's legacy signature tag ends
// up with both signatures (as cosign appends), not only the last one's, and
// both keys verify; a repeat push by either puts no manifest.
func TestPushMergesOtherSigners(t *testing.T) {
	reg := registrytest.Start(t)
	proxy := registrytest.NewProxy(t, reg.Host, 1)
	repo := proxy.Repo("hello")
	_, _, alice := keyPair(t)
	_, bobPub, bob := keyPair(t)
	dirA, dirB := newLayout(t, 4), newLayout(t, 4) // the same image, signed apart
	if _, err := sign.Layout(ctx, dirA, alice); err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Layout(ctx, dirB, bob); err != nil {
		t.Fatal(err)
	}
	pushLayout(t, dirA, repo)
	pushLayout(t, dirB, repo)

	auth := remote.WithAuthFromKeychain(anonymous{})
	for n, h := range subjects(t, dirA) {
		ref, _ := name.ParseReference(repo + ":" + sigtag.Signature(h))
		img, err := remote.Image(ref, auth)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		m, _ := img.Manifest()
		want := []v1.Descriptor{legacyLayer(t, dirA, h), legacyLayer(t, dirB, h)}
		if diff := cmp.Diff(want, m.Layers); diff != "" {
			t.Errorf("%s: the registry's %s does not hold alice's then bob's signature (-want +got):\n%s", n, sigtag.Signature(h), diff)
		}
		for who, s := range map[string]sign.Signer{"alice": alice, "bob": bob} {
			sub, _ := name.ParseReference(repo + "@" + h.String())
			if _, err := sign.VerifyRemote(ctx, sub, s.PublicKey(), sign.WithRemoteOptions(auth)); err != nil {
				t.Errorf("%s: %s's key: %v", n, who, err)
			}
		}
		// cosign reads the merged manifest too: bob's signature is the
		// second layer, and legacy-only verification finds it.
		if out, err := cosign(t, "cosign-v2", "verify", "--key", bobPub, "--insecure-ignore-tlog=true", "--trusted-root", trustedRoot(t), reg.Repo("hello@"+h.String())); err != nil {
			t.Errorf("cosign-v2 verify %s with bob's key: %v\n%s", n, err, out)
		}
	}
	for _, dir := range []string{dirA, dirB} {
		proxy.ResetCounts()
		pushLayout(t, dir, repo)
		if c := proxy.Counts(); c.Methods["PUT"]+c.UploadStarts != 0 {
			t.Errorf("repeat push of %s: %d PUT, %d upload starts; want none", dir, c.Methods["PUT"], c.UploadStarts)
		}
	}
}

// legacyLayer is the one signature layer of the legacy signature manifest
// of h in the layout dir.
func legacyLayer(t testing.TB, dir string, h v1.Hash) v1.Descriptor {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", entry(t, dir, sigtag.Signature(h)).Digest.Hex))
	if err != nil {
		t.Fatal(err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil || len(m.Layers) != 1 {
		t.Fatalf("legacy signature manifest of %s: %v, %d layers", h, err, len(m.Layers))
	}
	return m.Layers[0]
}

// A registry with the OCI 1.1 referrers API (distribution 3 has none, so
// ggcr's registry, served over HTTP on 127.0.0.1): the bundles are listed
// by the API and no sha256-<hex> fallback tag is made, a repeat push puts
// no manifest, and the signatures verify, with Gantry as the registry
// answers and with cosign v3 once the listing follows the spec.
func TestPushToReferrersAPI(t *testing.T) {
	for _, conforming := range []bool{false, true} {
		t.Run(map[bool]string{false: "as ggcr lists", true: "as the spec lists"}[conforming], func(t *testing.T) {
			repo, puts := referrersRegistry(t, conforming)
			_, pubPath, s := keyPair(t)
			dir := newLayout(t, 21)
			if _, err := sign.Layout(ctx, dir, s, sign.WithFormats(sign.Bundle)); err != nil {
				t.Fatal(err)
			}
			pushLayout(t, dir, repo)

			auth := remote.WithAuthFromKeychain(anonymous{})
			tags, err := remote.List(mustRepo(t, repo), auth)
			if err != nil {
				t.Fatal(err)
			}
			for _, tag := range tags {
				if _, k := sigtag.Parse(tag); k == sigtag.Referrers {
					t.Errorf("tag %s: a fallback referrers tag was pushed to a registry that has the referrers API", tag)
				}
			}
			root := trustedRoot(t)
			for n, h := range subjects(t, dir) {
				sub, _ := name.ParseReference(repo + "@" + h.String())
				idx, err := remote.Referrers(sub.Context().Digest(h.String()), auth)
				if err != nil {
					t.Fatal(err)
				}
				if im, _ := idx.IndexManifest(); len(im.Manifests) != 1 {
					t.Errorf("%s: the referrers API lists %d manifests, want one bundle", n, len(im.Manifests))
				}
				if _, err := sign.VerifyRemote(ctx, sub, s.PublicKey(), sign.WithRemoteOptions(auth), sign.WithFormats(sign.Bundle)); err != nil {
					t.Errorf("%s: %v", n, err)
				}
				if !conforming {
					continue // cosign filters the listing by artifactType, which ggcr gets wrong
				}
				if out, err := cosign(t, "cosign-v3", "verify", "--key", pubPath, "--insecure-ignore-tlog=true", "--trusted-root", root, "--allow-http-registry", repo+"@"+h.String()); err != nil {
					t.Errorf("cosign-v3 verify %s through the referrers API: %v\n%s", n, err, lastLines(out, 3))
				}
			}
			puts.Store(0)
			pushLayout(t, dir, repo)
			if n := puts.Load(); n != 0 {
				t.Errorf("repeat push: %d PUTs, want none", n)
			}
		})
	}
}

// referrersRegistry serves ggcr's registry with the referrers API on
// 127.0.0.1 and counts the PUTs. ggcr lists a referrer under its config's
// media type; conforming rewrites the listing to the manifest's
// artifactType, as the OCI distribution spec has it.
func referrersRegistry(t *testing.T, conforming bool) (string, *atomic.Int32) {
	t.Helper()
	var puts atomic.Int32
	var mu sync.Mutex
	artifactTypes := map[string]string{} // manifest digest → artifactType
	h := ggcrregistry.New(ggcrregistry.WithReferrersSupport(true), ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut:
			puts.Add(1)
			if strings.Contains(r.URL.Path, "/manifests/") {
				body, _ := io.ReadAll(r.Body)
				var m struct{ ArtifactType string }
				json.Unmarshal(body, &m)
				mu.Lock()
				artifactTypes[fmt.Sprintf("sha256:%x", sha256.Sum256(body))] = m.ArtifactType
				mu.Unlock()
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
		case conforming && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/referrers/"):
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			var im v1.IndexManifest
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &im) != nil {
				t.Errorf("referrers: %d %s", rec.Code, rec.Body)
				return
			}
			mu.Lock()
			for i, d := range im.Manifests {
				if at := artifactTypes[d.Digest.String()]; at != "" {
					im.Manifests[i].ArtifactType = at
				}
			}
			mu.Unlock()
			w.Header().Set("Content-Type", rec.Header().Get("Content-Type"))
			json.NewEncoder(w).Encode(im)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://") + "/hello", &puts
}

func mustRepo(t testing.TB, s string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
