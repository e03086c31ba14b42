package pipeline_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/registrytest"
	"github.com/gantrybuild/gantry/targets/internal/sigstoretest"
	"github.com/gantrybuild/gantry/targets/internal/testrepo"
	"github.com/gantrybuild/gantry/targets/sbom"
	"github.com/gantrybuild/gantry/targets/sign"
)

// A keyless release, as in a GitHub Actions job with `id-token: write`,
// against a real Fulcio, Rekor v2 and timestamp authority on 127.0.0.1,
// pushed to a real registry: cosign v3 and v2 verify the index and each
// platform by the workflow identity, and the SBOM and provenance
// attestations; a wrong identity fails; verify:signature checks the same
// policy offline.
func TestKeylessRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds, signs against the sigstore servers and pushes")
	}
	st := sigstoretest.Run(t)
	reg := registrytest.Start(t)
	repo := testrepo.New(t, "hello", "")
	repo.Tag(t, "v1.2.3")
	env := map[string]string{
		"GANTRY_REPO":                    reg.Repo("hello"),
		"GANTRY_SIGN_KEYLESS":            "1",
		"GANTRY_FULCIO_URL":              st.FulcioURL,
		"GANTRY_REKOR_URL":               st.RekorURL,
		"GANTRY_TSA_URL":                 st.TSAURL,
		"ACTIONS_ID_TOKEN_REQUEST_URL":   st.RequestURL,
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": st.RequestToken,
	}
	b := mustBuild(t, repo.Dir, config.Project{}, env)
	if err := b.Release(context.Background()); err != nil {
		t.Fatalf("release: %v\n%s", err, st.Logs())
	}
	identity := sigstoretest.DefaultWorkflow().Identity()
	dir := filepath.Join(repo.Dir, "dist", "oci", "hello")
	refs := refNames(indexJSON(t, dir))
	digests := map[string]string{}
	for _, r := range []string{"v1.2.3", "v1.2.3-amd64", "v1.2.3-arm64"} {
		digests[r] = reg.Repo("hello") + "@" + refs[r].Digest.String()
	}

	policy := []string{"--trusted-root", st.TrustedRoot, "--certificate-oidc-issuer", st.IssuerURL, "--insecure-ignore-sct"}
	good := append([]string{"--certificate-identity", identity}, policy...)
	bad := append([]string{"--certificate-identity", strings.Replace(identity, "release.yml", "other.yml", 1)}, policy...)

	for name, ref := range digests {
		t.Run("cosign-v3 verify "+name, func(t *testing.T) {
			if out, err := cosignRun(t, "cosign-v3", append(append([]string{"verify"}, good...), ref)...); err != nil {
				t.Errorf("cosign-v3 verify: %v\n%s", err, out)
			}
			if out, err := cosignRun(t, "cosign-v3", append(append([]string{"verify"}, bad...), ref)...); err == nil {
				t.Errorf("cosign-v3 verify with a wrong identity passed:\n%s", out)
			}
			// cosign v3 reads the legacy signature alone; its evidence of
			// time is the RFC 3161 timestamp (Rekor v2 issues no SET).
			legacy := append([]string{"verify", "--new-bundle-format=false", "--insecure-ignore-tlog=true"}, good...)
			if out, err := cosignRun(t, "cosign-v3", append(legacy, ref)...); err != nil {
				t.Errorf("cosign-v3 verify (legacy): %v\n%s", err, out)
			}
		})
	}
	for name, ref := range digests {
		// cosign v2 finds the bundles first, as a consumer's would; it
		// takes the time from the log unless told that the timestamps
		// prove it (Rekor v2 signs no entry time).
		t.Run("cosign-v2 verify "+name, func(t *testing.T) {
			if out, err := cosignRun(t, "cosign-v2", append(append([]string{"verify", "--use-signed-timestamps"}, good...), ref)...); err != nil {
				t.Errorf("cosign-v2 verify (bundle): %v\n%s", err, out)
			}
			if out, err := cosignRun(t, "cosign-v2", append(append([]string{"verify", "--use-signed-timestamps"}, bad...), ref)...); err == nil {
				t.Errorf("cosign-v2 verify (bundle) with a wrong identity passed:\n%s", out)
			}
		})
	}
	for _, pt := range []string{sbom.SPDXPredicateType, sbom.ProvenancePredicateType} {
		for _, name := range []string{"v1.2.3-amd64", "v1.2.3-arm64"} {
			t.Run("cosign-v3 verify-attestation "+name+" "+pt, func(t *testing.T) {
				args := append(append([]string{"verify-attestation", "--type", pt}, good...), digests[name])
				if out, err := cosignRun(t, "cosign-v3", args...); err != nil {
					t.Errorf("cosign-v3 verify-attestation: %v\n%s", err, out)
				}
				args = append(append([]string{"verify-attestation", "--type", pt}, bad...), digests[name])
				if out, err := cosignRun(t, "cosign-v3", args...); err == nil {
					t.Errorf("cosign-v3 verify-attestation with a wrong identity passed:\n%s", out)
				}
			})
		}
	}

	// verify:signature, offline, by identity: the layout and the pushed
	// image; a wrong identity fails.
	venv := map[string]string{
		"GANTRY_VERIFY_IDENTITY": identity,
		"GANTRY_VERIFY_ISSUER":   st.IssuerURL,
		"GANTRY_TRUSTED_ROOT":    st.TrustedRoot,
	}
	if err := mustBuild(t, repo.Dir, config.Project{}, venv).VerifySignatures(context.Background()); err != nil {
		t.Errorf("verify:signature of the layout: %v", err)
	}
	venv["GANTRY_VERIFY_IMAGE"] = reg.Repo("hello") + ":v1.2.3"
	if err := mustBuild(t, repo.Dir, config.Project{}, venv).VerifySignatures(context.Background()); err != nil {
		t.Errorf("verify:signature of the pushed image: %v", err)
	}
	delete(venv, "GANTRY_VERIFY_IMAGE")
	venv["GANTRY_VERIFY_IDENTITY"] = strings.Replace(identity, "release.yml", "other.yml", 1)
	if err := mustBuild(t, repo.Dir, config.Project{}, venv).VerifySignatures(context.Background()); !errors.Is(err, sign.ErrUnverified) {
		t.Errorf("verify:signature with a wrong identity: %v, want ErrUnverified", err)
	}

	// cosign v2 reads legacy signatures when no bundle is there: a
	// legacy-only release of the same commit, with the token from
	// SIGSTORE_ID_TOKEN and the services from a signing config file.
	tok, err := st.Token()
	if err != nil {
		t.Fatal(err)
	}
	lenv := map[string]string{
		"GANTRY_REPO":           reg.Repo("hello-legacy"),
		"GANTRY_OUT":            "dist-legacy",
		"GANTRY_SIGN_FORMAT":    "legacy",
		"GANTRY_SIGN_KEYLESS":   "1",
		"GANTRY_SIGNING_CONFIG": st.SigningConfig,
		"SIGSTORE_ID_TOKEN":     tok,
	}
	if err := mustBuild(t, repo.Dir, config.Project{}, lenv).Release(context.Background()); err != nil {
		t.Fatalf("legacy-only release: %v", err)
	}
	lrefs := refNames(indexJSON(t, filepath.Join(repo.Dir, "dist-legacy", "oci", "hello")))
	for _, name := range []string{"v1.2.3", "v1.2.3-amd64", "v1.2.3-arm64"} {
		ref := reg.Repo("hello-legacy") + "@" + lrefs[name].Digest.String()
		args := append([]string{"verify", "--insecure-ignore-tlog=true", "--use-signed-timestamps"}, good...)
		if out, err := cosignRun(t, "cosign-v2", append(args, ref)...); err != nil {
			t.Errorf("cosign-v2 verify (legacy) %s: %v\n%s", name, err, out)
		}
		args = append([]string{"verify", "--insecure-ignore-tlog=true", "--use-signed-timestamps"}, bad...)
		if out, err := cosignRun(t, "cosign-v2", append(args, ref)...); err == nil {
			t.Errorf("cosign-v2 verify (legacy) %s with a wrong identity passed:\n%s", name, out)
		}
	}
	for _, pt := range []string{sbom.SPDXPredicateType, sbom.ProvenancePredicateType} {
		ref := reg.Repo("hello-legacy") + "@" + lrefs["v1.2.3-amd64"].Digest.String()
		// cosign v2 takes a trusted root only with --new-bundle-format:
		// the chains instead, and the TSA's for the timestamps.
		args := []string{"verify-attestation", "--insecure-ignore-tlog=true", "--type", pt,
			"--certificate-identity", identity, "--certificate-oidc-issuer", st.IssuerURL, "--insecure-ignore-sct",
			"--certificate-chain", st.CAChain, "--timestamp-certificate-chain", st.TSAChain, "--use-signed-timestamps"}
		if out, err := cosignRun(t, "cosign-v2", append(args, ref)...); err != nil {
			t.Errorf("cosign-v2 verify-attestation (legacy) %s: %v\n%s", pt, err, out)
		}
	}
}

// cosignRun runs a cosign CLI with a fresh HOME (no TUF cache, no
// credentials).
func cosignRun(t testing.TB, tool string, args ...string) (string, error) {
	t.Helper()
	bin := ocitest.NeedTool(t, tool)
	cmd := exec.Command(bin, args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "DOCKER_CONFIG="+home, "TUF_ROOT="+home)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
