package targets_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/registrytest"
	"github.com/gantrybuild/gantry/targets/sign/keys"
	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

// keygen, a signed release to a registry on 127.0.0.1, cosign v2 and v3
// verifying the index and each platform, an unrelated key failing, and
// verify:signature offline on the layout and on the pushed image.
func TestMageSignRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a magefile binary")
	}
	cosigns := []string{ocitest.NeedTool(t, "cosign-v2"), ocitest.NeedTool(t, "cosign-v3")}
	reg := registrytest.Start(t)
	r := consumer(t)
	repo := reg.Repo("plain")

	out, err := mage(t, r.Dir, nil, "-l")
	if err != nil {
		t.Fatalf("mage -l: %v\n%s", err, out)
	}
	for _, target := range []string{"sign", "keygen", "verify:signature"} {
		if !strings.Contains(out, "  "+target+" ") {
			t.Errorf("mage -l does not list %s:\n%s", target, out)
		}
	}

	if out, err := mage(t, r.Dir, nil, "keygen"); err == nil || !strings.Contains(out, "COSIGN_PASSWORD") {
		t.Errorf("keygen without COSIGN_PASSWORD: %v, want a refusal naming it\n%s", err, out)
	}
	pw := "COSIGN_PASSWORD=release-password"
	if out, err := mage(t, r.Dir, []string{pw}, "keygen"); err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}
	if out, err := mage(t, r.Dir, []string{pw}, "keygen"); err == nil || !strings.Contains(out, "already exists") {
		t.Errorf("second keygen: %v, want a refusal to replace the key\n%s", err, out)
	}

	// The key pair sits untracked in the work tree: release still runs.
	env := []string{pw, "GANTRY_SIGN_KEY=cosign.key", "GANTRY_REPO=" + repo}
	out, err = mage(t, r.Dir, env, "release")
	if err != nil {
		t.Fatalf("signed release: %v\n%s", err, out)
	}
	if !strings.Contains(out, "signing plain with") || strings.Contains(out, "release-password") {
		t.Errorf("release output does not say it signed, or shows the password:\n%s", out)
	}
	layout := filepath.Join(r.Dir, "dist", "oci", "plain")
	ocitest.ValidateLayout(t, layout)

	root := filepath.Join(t.TempDir(), "trusted_root.json")
	os.WriteFile(root, []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o644)
	_, otherPub, err := keys.WriteKeyPair(filepath.Join(t.TempDir(), "other"), []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(r.Dir, "cosign.pub")
	for name, h := range images(t, layout) {
		for _, bin := range cosigns {
			ref := repo + "@" + h.String()
			cmd := exec.Command(bin, "verify", "--key", pub, "--insecure-ignore-tlog=true", "--trusted-root", root, ref)
			cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s verify %s: %v\n%s", filepath.Base(bin), name, err, out)
			}
			cmd = exec.Command(bin, "verify", "--key", otherPub, "--insecure-ignore-tlog=true", "--trusted-root", root, ref)
			cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
			if out, err := cmd.CombinedOutput(); err == nil {
				t.Errorf("%s verify %s with an unrelated key succeeded:\n%s", filepath.Base(bin), name, out)
			}
		}
	}

	for _, extra := range [][]string{nil, {"GANTRY_VERIFY_IMAGE=" + repo + ":" + version(t, layout)}} {
		out, err := mage(t, r.Dir, append([]string{"GANTRY_VERIFY_KEY=cosign.pub"}, extra...), "verify:signature")
		if err != nil || strings.Count(out, " ok (bundle: ok, legacy: ok)") != 3 {
			t.Errorf("verify:signature %v: %v\n%s", extra, err, out)
		}
	}
	out, err = mage(t, r.Dir, []string{"GANTRY_VERIFY_KEY=" + otherPub}, "verify:signature")
	if err == nil || !strings.Contains(out, "signature verification failed") || !strings.Contains(out, version(t, layout)+"-arm64") {
		t.Errorf("verify:signature with an unrelated key: %v, want a failure naming each manifest\n%s", err, out)
	}

	out, err = mage(t, r.Dir, nil, "release")
	if err != nil || !strings.Contains(out, "signing skipped: no key configured (set GANTRY_SIGN_KEY)") {
		t.Errorf("release without a key: %v, want success saying signing was skipped\n%s", err, out)
	}
}

// images maps the layout's image ref names to their digests.
func images(t *testing.T, dir string) map[string]v1.Hash {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(raw, &im); err != nil {
		t.Fatal(err)
	}
	out := map[string]v1.Hash{}
	for _, d := range im.Manifests {
		if n := d.Annotations[sigtag.RefName]; !sigtag.Is(n) {
			out[n] = d.Digest
		}
	}
	if len(out) != 3 {
		t.Fatalf("layout names %d images, want an index and 2 platforms: %v", len(out), out)
	}
	return out
}

// version is the ref name of the layout's index.
func version(t *testing.T, dir string) string {
	for n := range images(t, dir) {
		if !strings.Contains(n, "-amd64") && !strings.Contains(n, "-arm64") {
			return n
		}
	}
	t.Fatal("no index")
	return ""
}
