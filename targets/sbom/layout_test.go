//go:build unix

package sbom_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/testrepo"
	"github.com/gantrybuild/gantry/targets/pipeline"
	"github.com/gantrybuild/gantry/targets/sbom"
	"github.com/gantrybuild/gantry/targets/sign"
	"github.com/gantrybuild/gantry/targets/sign/keys"
	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

// buildHello releases the hello example offline without a key (so with
// SBOMs, unsigned), with env as its environment, and returns the build and
// its layout.
func buildHello(t *testing.T, env map[string]string) (*pipeline.Build, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: builds and releases testdata/hello end to end")
	}
	repo := testrepo.New(t, "hello", "")
	repo.Tag(t, "v1.2.3")
	cfg, err := config.Load(config.Project{}, config.MapEnv(env), repo.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	b, err := pipeline.New(context.Background(), cfg, pipeline.Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Release(context.Background()); err != nil {
		t.Fatalf("release: %v\n%s", err, log.String())
	}
	return b, filepath.Join(repo.Dir, "dist", "oci", "hello")
}

// snapshot maps every file under dirs to its content.
func snapshot(t *testing.T, dirs ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range dirs {
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(p, ".lock") {
				return err
			}
			b, err := os.ReadFile(p)
			out[p] = string(b)
			return err
		})
	}
	return out
}

// The SBOM step is deterministic: run again on the same layout it writes
// the same bytes (layout and dist/sbom), and the layout stays valid; every
// manifest's referrers list one SPDX SBOM, and each platform a provenance.
func TestLayoutDeterministic(t *testing.T) {
	b, dir := buildHello(t, nil)
	ocitest.ValidateLayout(t, dir)
	before, documents := snapshot(t, dir, b.SBOMDir()), snapshot(t, b.SBOMDir())
	if err := b.SBOM(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, snapshot(t, dir, b.SBOMDir())); diff != "" {
		t.Errorf("a second sbom changed the output (-before +after):\n%s", diff)
	}

	// The second run answered from the cache of layers already read: an
	// entry edited behind its back shows in the documents, and removing
	// the cache gives the first run's documents again.
	cache := filepath.Join(filepath.Dir(filepath.Dir(dir)), "cache", "sbom") // dist/cache/sbom
	entries, _ := filepath.Glob(filepath.Join(cache, "layer-*.json"))
	edited := 0
	for _, e := range entries {
		data, err := os.ReadFile(e)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte("golang.org/x/mod")) {
			os.WriteFile(e, bytes.ReplaceAll(data, []byte("golang.org/x/mod"), []byte("example.com/edited")), 0o644)
			edited++
		}
	}
	if edited != 2 {
		t.Fatalf("cache entries naming golang.org/x/mod: %d of %v, want one per platform", edited, entries)
	}
	if err := b.SBOM(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fmt.Sprint(snapshot(t, b.SBOMDir())), "example.com/edited") {
		t.Error("the sbom step did not use its cache of layers")
	}
	// Likewise the license classifier's answers, by license text.
	os.RemoveAll(cache)
	if err := b.SBOM(context.Background()); err != nil {
		t.Fatal(err)
	}
	licenses := filepath.Join(cache, "licenses.json")
	data, err := os.ReadFile(licenses)
	if err != nil || !bytes.Contains(data, []byte(`"BSD-3-Clause"`)) {
		t.Fatalf("license cache: %v %s, want x/mod's BSD-3-Clause", err, data)
	}
	os.WriteFile(licenses, bytes.ReplaceAll(data, []byte(`"BSD-3-Clause"`), []byte(`"0BSD"`)), 0o644)
	if err := b.SBOM(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fmt.Sprint(snapshot(t, b.SBOMDir())), "0BSD") {
		t.Error("the sbom step did not use its cache of license answers")
	}
	os.RemoveAll(cache)
	if err := b.SBOM(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(documents, snapshot(t, b.SBOMDir())); diff != "" {
		t.Errorf("without its cache the sbom step wrote other documents (-first +now):\n%s", diff)
	}
	kinds := map[string]int{}
	for _, e := range readIndex(t, dir).Manifests {
		if _, k := sigtag.Parse(e.Annotations[sigtag.RefName]); k != sigtag.Referrers {
			continue
		}
		var im v1.IndexManifest
		if err := json.Unmarshal(blob(t, dir, e.Digest), &im); err != nil {
			t.Fatal(err)
		}
		for _, r := range im.Manifests {
			kinds[r.ArtifactType+" "+r.Annotations[sigtag.PredicateType]]++
		}
	}
	want := map[string]int{
		sbom.SPDXMediaType + " " + sbom.SPDXPredicateType:             3,
		sbom.ProvenanceMediaType + " " + sbom.ProvenancePredicateType: 2,
	}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("referrers by artifact and predicate type (-want +got):\n%s", diff)
	}
}

// Signing attests the SBOMs; Gantry's verifier passes, and fails once an
// SBOM is replaced (every digest consistent, as an attacker would write
// it) or an attestation's signature is damaged.
func TestAttestationsTampered(t *testing.T) {
	ctx := context.Background()
	_, dir := buildHello(t, nil)
	key, pub, err := keys.WriteKeyPair(filepath.Join(t.TempDir(), "cosign"), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := keys.LoadSigner(ctx, keys.Ref{Key: key, Password: []byte("pw")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := sign.Layout(ctx, dir, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if r.Attestations != sign.Added {
			t.Errorf("%s: attestations %q, want %q", r.Name, r.Attestations, sign.Added)
		}
	}
	pubKey := loadPub(t, pub)
	if _, err := sign.VerifyLayout(ctx, dir, pubKey); err != nil {
		t.Fatalf("verify: %v", err)
	}
	// Signing again adds nothing.
	before := snapshot(t, dir)
	if _, err := sign.Layout(ctx, dir, s); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
		t.Errorf("re-signing changed the layout (-before +after):\n%s", diff)
	}

	amd64 := digestOf(t, dir, "v1.2.3-amd64")
	t.Run("sbom replaced", func(t *testing.T) {
		d := copyDir(t, dir)
		replaceSBOM(t, d, amd64, func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("v0.42.0"), []byte("v0.41.0")) })
		_, err := sign.VerifyLayout(ctx, d, pubKey)
		if !errors.Is(err, sign.ErrUnverified) || !strings.Contains(err.Error(), "v1.2.3-amd64") || !strings.Contains(err.Error(), "attestations") {
			t.Errorf("verify after replacing the SBOM: %v, want the amd64 attestations unverified", err)
		}
	})
	for _, f := range []sign.Formats{sign.Legacy, sign.Bundle} {
		t.Run("only "+f.String()+" checked, sbom replaced", func(t *testing.T) {
			d := copyDir(t, dir)
			replaceSBOM(t, d, amd64, func(b []byte) []byte { return bytes.Replace(b, []byte("{"), []byte("{\"x\":1,"), 1) })
			if _, err := sign.VerifyLayout(ctx, d, pubKey, sign.WithFormats(f)); !errors.Is(err, sign.ErrUnverified) {
				t.Errorf("verify (%s) after replacing the SBOM: %v, want unverified", f, err)
			}
		})
	}
}

func digestOf(t *testing.T, dir, ref string) v1.Hash {
	t.Helper()
	for _, e := range readIndex(t, dir).Manifests {
		if e.Annotations[sigtag.RefName] == ref {
			return e.Digest
		}
	}
	t.Fatalf("no %s in %s", ref, dir)
	return v1.Hash{}
}

func blob(t *testing.T, dir string, h v1.Hash) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "blobs", h.Algorithm, h.Hex))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func putBlob(t *testing.T, dir string, b []byte) (v1.Hash, int64) {
	t.Helper()
	sum := sha256.Sum256(b)
	h := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", h.Hex), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return h, int64(len(b))
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "hello")
	if err := testrepo.CopyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

// replaceSBOM rewrites the SPDX SBOM attached to h with edit, and every
// manifest and index.json entry above it, so that all digests match.
func replaceSBOM(t *testing.T, dir string, h v1.Hash, edit func([]byte) []byte) {
	t.Helper()
	rewriteReferrers(t, dir, h, func(d v1.Descriptor) bool { return d.ArtifactType == sbom.SPDXMediaType }, edit)
}
