//go:build unix

package sbom_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/internal/registrytest"
	"github.com/gantrybuild/gantry/targets/push"
	"github.com/gantrybuild/gantry/targets/sbom"
	"github.com/gantrybuild/gantry/targets/sign"
	"github.com/gantrybuild/gantry/targets/sign/keys"
	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

// Each attestation format alone is what cosign finds: a layout signed in
// one format and pushed, checked by cosign v2 and v3 told to read that
// format (the other is absent, so neither can fall back to it).
func TestCosignVerifiesEachFormat(t *testing.T) {
	ctx := context.Background()
	_, dir := buildHello(t, nil)
	reg := registrytest.Start(t)
	key, pub, err := keys.WriteKeyPair(filepath.Join(t.TempDir(), "cosign"), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := keys.LoadSigner(ctx, keys.Ref{Key: key, Password: []byte("pw")})
	if err != nil {
		t.Fatal(err)
	}
	root := trustedRoot(t)
	for _, tc := range []struct {
		formats sign.Formats
		flags   map[string][]string
	}{
		{sign.Bundle, map[string][]string{"cosign-v2": {"--new-bundle-format=true"}, "cosign-v3": nil}},
		{sign.Legacy, map[string][]string{"cosign-v2": nil, "cosign-v3": {"--new-bundle-format=false"}}},
	} {
		d := copyDir(t, dir)
		if _, err := sign.Layout(ctx, d, s, sign.WithFormats(tc.formats)); err != nil {
			t.Fatal(err)
		}
		repo := reg.Repo("hello-" + tc.formats.String())
		r, err := name.NewRepository(repo)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := push.Layouts(ctx, []push.Image{{Name: "hello", Layout: d, Repos: []name.Repository{r}}},
			push.WithProgress(push.Quiet()), push.WithKeychain(anonymous{})); err != nil {
			t.Fatalf("push: %v", err)
		}
		ref := repo + "@" + digestOf(t, d, "v1.2.3-arm64").String()
		for _, typ := range []string{"spdxjson", "slsaprovenance1"} {
			for _, tool := range []string{"cosign-v2", "cosign-v3"} {
				t.Run(strings.Join([]string{tc.formats.String(), typ, tool}, "/"), func(t *testing.T) {
					args := append([]string{"verify-attestation", "--key", pub, "--type", typ, "--insecure-ignore-tlog=true", "--trusted-root", root}, tc.flags[tool]...)
					out, err := cosign(t, tool, append(args, ref)...)
					if err != nil {
						t.Errorf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, lastLines(out, 8))
					}
					if !strings.Contains(out, "Verification for "+ref) {
						t.Errorf("%s printed no verification line:\n%s", tool, lastLines(out, 8))
					}
				})
			}
		}
	}
}

// A CycloneDX release: the BOM attestation verifies with cosign's
// --type cyclonedx, in both formats.
func TestCosignVerifiesCycloneDX(t *testing.T) {
	ctx := context.Background()
	b, dir := buildHello(t, map[string]string{"GANTRY_SBOM_FORMAT": "cyclonedx"})
	if _, err := os.Stat(filepath.Join(b.SBOMDir(), "hello-linux-amd64.cdx.json")); err != nil {
		t.Errorf("no CycloneDX file in dist/sbom: %v", err)
	}
	reg := registrytest.Start(t)
	key, pub, err := keys.WriteKeyPair(filepath.Join(t.TempDir(), "cosign"), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := keys.LoadSigner(ctx, keys.Ref{Key: key, Password: []byte("pw")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Layout(ctx, dir, s); err != nil {
		t.Fatal(err)
	}
	r, err := name.NewRepository(reg.Repo("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := push.Layouts(ctx, []push.Image{{Name: "hello", Layout: dir, Repos: []name.Repository{r}}},
		push.WithProgress(push.Quiet()), push.WithKeychain(anonymous{})); err != nil {
		t.Fatalf("push: %v", err)
	}
	root := trustedRoot(t)
	ref := reg.Repo("hello") + "@" + digestOf(t, dir, "v1.2.3-amd64").String()
	for _, tool := range []string{"cosign-v2", "cosign-v3"} {
		args := []string{"verify-attestation", "--key", pub, "--type", "cyclonedx", "--insecure-ignore-tlog=true", "--trusted-root", root, ref}
		if out, err := cosign(t, tool, args...); err != nil {
			t.Errorf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, lastLines(out, 8))
		}
	}
}

// A tampered attestation bundle (its statement edited, its signature
// kept, every digest above it consistent) fails cosign's verification.
func TestCosignRejectsTamperedBundle(t *testing.T) {
	ctx := context.Background()
	_, dir := buildHello(t, nil)
	reg := registrytest.Start(t)
	key, pub, err := keys.WriteKeyPair(filepath.Join(t.TempDir(), "cosign"), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := keys.LoadSigner(ctx, keys.Ref{Key: key, Password: []byte("pw")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Layout(ctx, dir, s, sign.WithFormats(sign.Bundle)); err != nil {
		t.Fatal(err)
	}
	h := digestOf(t, dir, "v1.2.3-amd64")
	rewriteReferrers(t, dir, h, func(d v1.Descriptor) bool {
		return d.Annotations[sign.BundlePredicateAnnotation] == sbom.SPDXPredicateType
	}, func(bundle []byte) []byte {
		var b map[string]any
		if err := json.Unmarshal(bundle, &b); err != nil {
			t.Fatal(err)
		}
		env := b["dsseEnvelope"].(map[string]any)
		stmt, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
		env["payload"] = base64.StdEncoding.EncodeToString(bytes.ReplaceAll(stmt, []byte("v0.42.0"), []byte("v0.41.0")))
		out, _ := json.Marshal(b)
		return out
	})
	if _, err := sign.VerifyLayout(ctx, dir, loadPub(t, pub), sign.WithFormats(sign.Bundle)); err == nil {
		t.Error("Gantry verifies the tampered bundle")
	}
	r, err := name.NewRepository(reg.Repo("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := push.Layouts(ctx, []push.Image{{Name: "hello", Layout: dir, Repos: []name.Repository{r}}},
		push.WithProgress(push.Quiet()), push.WithKeychain(anonymous{})); err != nil {
		t.Fatalf("push: %v", err)
	}
	root := trustedRoot(t)
	ref := reg.Repo("hello") + "@" + h.String()
	flags := map[string][]string{"cosign-v2": {"--new-bundle-format=true"}, "cosign-v3": nil}
	for _, tool := range []string{"cosign-v2", "cosign-v3"} {
		args := append([]string{"verify-attestation", "--key", pub, "--type", "spdxjson", "--insecure-ignore-tlog=true", "--trusted-root", root}, flags[tool]...)
		out, err := cosign(t, tool, append(args, ref)...)
		if err == nil {
			t.Errorf("%s verifies a tampered attestation:\n%s", tool, lastLines(out, 8))
		}
		t.Logf("%s: %s", tool, lastLines(out, 2))
	}
}

// rewriteReferrers edits the one layer of each referrer of h that match
// selects, and rewrites every manifest and index.json entry above it so
// that all digests match.
func rewriteReferrers(t *testing.T, dir string, h v1.Hash, match func(v1.Descriptor) bool, edit func([]byte) []byte) {
	t.Helper()
	ij := readIndex(t, dir)
	n := 0
	for i, e := range ij.Manifests {
		if e.Annotations[sigtag.RefName] != sigtag.Fallback(h) {
			continue
		}
		var fb v1.IndexManifest
		if err := json.Unmarshal(blob(t, dir, e.Digest), &fb); err != nil {
			t.Fatal(err)
		}
		for j, r := range fb.Manifests {
			if !match(r) {
				continue
			}
			var m v1.Manifest
			if err := json.Unmarshal(blob(t, dir, r.Digest), &m); err != nil {
				t.Fatal(err)
			}
			m.Layers[0].Digest, m.Layers[0].Size = putBlob(t, dir, edit(blob(t, dir, m.Layers[0].Digest)))
			raw, _ := json.Marshal(m)
			fb.Manifests[j].Digest, fb.Manifests[j].Size = putBlob(t, dir, raw)
			n++
		}
		raw, _ := json.Marshal(fb)
		ij.Manifests[i].Digest, ij.Manifests[i].Size = putBlob(t, dir, raw)
	}
	if n == 0 {
		t.Fatalf("no referrer of %s to rewrite", h)
	}
	raw, _ := json.Marshal(ij)
	if err := os.WriteFile(filepath.Join(dir, "index.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
}
