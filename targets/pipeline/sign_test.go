package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/testrepo"
	"github.com/gantrybuild/gantry/targets/pipeline"
	"github.com/gantrybuild/gantry/targets/sign"
	"github.com/gantrybuild/gantry/targets/sign/keys"
	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

// keyPair writes a cosign key pair outside the repository and returns the
// environment that signs with it and the path of its public key.
func keyPair(t testing.TB) (map[string]string, string) {
	t.Helper()
	key, pub, err := keys.WriteKeyPair(filepath.Join(t.TempDir(), "cosign"), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"GANTRY_SIGN_KEY": key, "COSIGN_PASSWORD": "pw"}, pub
}

// buildLog loads a Build whose output goes to a buffer.
func buildLog(t testing.TB, dir string, env map[string]string) (*pipeline.Build, *bytes.Buffer) {
	t.Helper()
	skipShort(t)
	cfg, err := config.Load(config.Project{}, config.MapEnv(env), dir)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	b, err := pipeline.New(context.Background(), cfg, pipeline.Options{Log: &buf})
	if err != nil {
		t.Fatal(err)
	}
	return b, &buf
}

// signatureEntries counts a layout's signature entries by kind.
func signatureEntries(t testing.TB, dir string) map[sigtag.Kind]int {
	t.Helper()
	out := map[sigtag.Kind]int{}
	for _, d := range indexJSON(t, dir).Manifests {
		if _, k := sigtag.Parse(d.Annotations[sigtag.RefName]); k != sigtag.None {
			out[k]++
		}
	}
	return out
}

// A release with a key signs the index and both platforms; an unchanged
// rebuild keeps the layout (and its signatures) byte for byte; a changed
// one drops the signatures of what changed.
func TestReleaseSigns(t *testing.T) {
	ctx := context.Background()
	repo := testrepo.New(t, "plain", "")
	env, pub := keyPair(t)
	b, log := buildLog(t, repo.Dir, env)
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(repo.Dir, "dist", "oci", "plain")
	// Each manifest: its legacy signature, its referrers (bundles, SBOMs,
	// provenance) and its legacy attestations.
	if diff := cmp.Diff(map[sigtag.Kind]int{sigtag.Legacy: 3, sigtag.Referrers: 3, sigtag.Attestation: 3}, signatureEntries(t, dir)); diff != "" {
		t.Errorf("signature entries (-want +got):\n%s\n%s", diff, log)
	}
	if !strings.Contains(log.String(), "signing plain with") {
		t.Errorf("release did not say it signed:\n%s", log)
	}
	ocitest.ValidateLayout(t, dir)
	s, err := b.Summarize()
	if err != nil {
		t.Fatal(err)
	}
	if got := refNames(indexJSON(t, dir))[b.Version].Digest; s[0].Index != got || len(s[0].Platforms) != 2 {
		t.Errorf("summary names index %s and %d platforms; the layout's index is %s", s[0].Index, len(s[0].Platforms), got)
	}

	venv := map[string]string{"GANTRY_VERIFY_KEY": pub}
	vb, vlog := buildLog(t, repo.Dir, venv)
	if err := vb.VerifySignatures(ctx); err != nil {
		t.Fatalf("verify: %v\n%s", err, vlog)
	}

	// Unchanged input: nothing is rewritten, signatures included.
	before := snapshot(t, dir)
	time.Sleep(10 * time.Millisecond)
	b2, _ := buildLog(t, repo.Dir, env)
	if err := b2.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
		t.Errorf("an unchanged release changed the signed layout (-before +after):\n%s", diff)
	}
	// The layout and index steps alone keep them too.
	if err := b2.Layout(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b2.Index(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
		t.Errorf("layout and index on unchanged input changed the signed layout (-before +after):\n%s", diff)
	}

	// A change: new manifests, unsigned without a key; the old signatures go.
	repo.Write(t, "main.go", strings.Replace(readFile(t, filepath.Join(repo.Dir, "main.go")), "package main", "package main\n\n// changed", 1))
	repo.Commit(t, "change")
	b3, log3 := buildLog(t, repo.Dir, nil)
	if err := b3.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log3.String(), "signing skipped: no key configured (set GANTRY_SIGN_KEY)") {
		t.Errorf("a release without a key does not say it skipped signing:\n%s", log3)
	}
	// Only the new manifests' referrers (their unsigned SBOMs) remain.
	if got := signatureEntries(t, dir); got[sigtag.Legacy]+got[sigtag.Attestation] != 0 || got[sigtag.Referrers] != 3 {
		t.Errorf("after a changed build without a key the layout still holds signatures: %v", got)
	}
	ocitest.ValidateLayout(t, dir)
	vb, vlog = buildLog(t, repo.Dir, venv)
	err = vb.VerifySignatures(ctx)
	if !errors.Is(err, sign.ErrUnverified) || !strings.Contains(err.Error(), b3.Version+"-arm64") || !strings.Contains(err.Error(), "unsigned") {
		t.Errorf("verifying an unsigned layout: %v, want each manifest named unsigned\n%s", err, vlog)
	}
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Without a key, release says so and passes; sign itself refuses; an
// env:// key whose variable is empty (a pull request without secrets)
// skips the same way.
func TestSigningSkippedWithoutKey(t *testing.T) {
	ctx := context.Background()
	repo := testrepo.New(t, "plain", "")
	for _, tc := range []struct {
		env  map[string]string
		skip string
		sign string
	}{
		{nil, "signing skipped: no key configured (set GANTRY_SIGN_KEY)", "no signing key configured: set GANTRY_SIGN_KEY"},
		{map[string]string{"GANTRY_SIGN_KEY": "env://COSIGN_KEY"}, "signing skipped: no key configured (GANTRY_SIGN_KEY is env://COSIGN_KEY but COSIGN_KEY is empty)", "COSIGN_KEY is empty"},
	} {
		b, log := buildLog(t, repo.Dir, tc.env)
		if err := b.SignIfConfigured(ctx); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log.String(), tc.skip) {
			t.Errorf("log = %q, want %q", log, tc.skip)
		}
		if err := b.Sign(ctx); err == nil || !strings.Contains(err.Error(), tc.sign) {
			t.Errorf("sign without a key: %v, want %q", err, tc.sign)
		}
	}
}

// Bad input fails with one line, before the layout changes, and never
// shows the password or the key.
func TestSignBadInput(t *testing.T) {
	ctx := context.Background()
	repo := testrepo.New(t, "plain", "")
	env, _ := keyPair(t)
	dist := filepath.Join(repo.Dir, "dist")

	b, _ := buildLog(t, repo.Dir, env)
	if err := b.Sign(ctx); err == nil || !strings.Contains(err.Error(), "nothing to sign") {
		t.Errorf("sign before a build: %v, want nothing to sign", err)
	}
	if _, err := os.Stat(dist); err == nil {
		t.Errorf("sign before a build created %s", dist)
	}
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	layout := filepath.Join(dist, "oci", "plain")
	before := snapshot(t, layout)

	pemKey := readFile(t, env["GANTRY_SIGN_KEY"])
	garbage := filepath.Join(t.TempDir(), "garbage.key")
	os.WriteFile(garbage, []byte("not a key"), 0o600)
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"wrong password", map[string]string{"GANTRY_SIGN_KEY": env["GANTRY_SIGN_KEY"], "COSIGN_PASSWORD": "s3cret-but-wrong"}, "wrong password for the encrypted key (COSIGN_PASSWORD)"},
		{"no password", map[string]string{"GANTRY_SIGN_KEY": env["GANTRY_SIGN_KEY"]}, "set COSIGN_PASSWORD"},
		{"inline key, wrong password", map[string]string{"GANTRY_SIGN_KEY": pemKey, "COSIGN_PASSWORD": "s3cret-but-wrong"}, "signing key (PEM key in GANTRY_SIGN_KEY): wrong password"},
		{"env key, wrong password", map[string]string{"GANTRY_SIGN_KEY": "env://MY_KEY", "MY_KEY": pemKey, "COSIGN_PASSWORD": "s3cret-but-wrong"}, "signing key env://MY_KEY: wrong password"},
		{"missing file", map[string]string{"GANTRY_SIGN_KEY": filepath.Join(t.TempDir(), "nope.key")}, "does not exist"},
		{"not a key", map[string]string{"GANTRY_SIGN_KEY": garbage}, "not a PEM-encoded key"},
		{"unreachable kms", map[string]string{"GANTRY_SIGN_KEY": "hashivault://release", "VAULT_ADDR": "http://127.0.0.1:1", "VAULT_TOKEN": "s.vault-token-value"}, "unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Load(config.Project{}, config.MapEnv(tc.env), repo.Dir)
			if err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			b, err := pipeline.New(ctx, cfg, pipeline.Options{Log: &log})
			if err != nil {
				t.Fatal(err)
			}
			err = b.Sign(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
			msg := err.Error() + log.String()
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			for _, secret := range []string{"s3cret-but-wrong", "s.vault-token-value", "pw\n", pemKey[40:80]} {
				if strings.Contains(msg, secret) {
					t.Errorf("output reveals a secret (%q): %s", secret, msg)
				}
			}
			if diff := cmp.Diff(before, snapshot(t, layout)); diff != "" {
				t.Errorf("a failed sign changed the layout (-before +after):\n%s", diff)
			}
		})
	}
}

// Release loads the key first: a wrong password fails before anything is
// built.
func TestReleaseChecksKeyFirst(t *testing.T) {
	repo := testrepo.New(t, "plain", "")
	env, _ := keyPair(t)
	env["COSIGN_PASSWORD"] = "not-the-password"
	b, _ := buildLog(t, repo.Dir, env)
	err := b.Release(context.Background())
	if !errors.Is(err, keys.ErrWrongPassword) {
		t.Fatalf("release with a wrong password: %v, want ErrWrongPassword", err)
	}
	if _, err := os.Stat(filepath.Join(repo.Dir, "dist")); err == nil {
		t.Errorf("release with a wrong password built before failing")
	}
}
