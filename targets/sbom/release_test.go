//go:build unix

package sbom_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdxlib"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/registrytest"
	"github.com/gantrybuild/gantry/targets/internal/testrepo"
	"github.com/gantrybuild/gantry/targets/pipeline"
	"github.com/gantrybuild/gantry/targets/sign"
	"github.com/gantrybuild/gantry/targets/sign/keys"
	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

func TestMain(m *testing.M) { ocitest.Main(m) }

// released is the hello example released with a key to a local registry.
type released struct {
	dir, repo, pub string
	digests        map[string]v1.Hash // ref name → digest
	out            string             // dist/
}

func releaseHello(t *testing.T) released {
	t.Helper()
	reg := registrytest.Start(t)
	repo := testrepo.New(t, "hello", "")
	repo.Tag(t, "v1.2.3")
	key, pub, err := keys.WriteKeyPair(filepath.Join(t.TempDir(), "cosign"), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"GANTRY_SIGN_KEY": key, "COSIGN_PASSWORD": "pw",
		"GANTRY_REPO": reg.Repo("hello"), "GANTRY_PROGRESS": "quiet",
		"DOCKER_CONFIG": t.TempDir(),
	}
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
	r := released{dir: filepath.Join(repo.Dir, "dist", "oci", "hello"), repo: reg.Repo("hello"), pub: pub, digests: map[string]v1.Hash{}, out: filepath.Join(repo.Dir, "dist")}
	for _, d := range readIndex(t, r.dir).Manifests {
		if n := d.Annotations[sigtag.RefName]; !sigtag.Is(n) {
			r.digests[n] = d.Digest
		}
	}
	return r
}

func cosign(t *testing.T, tool string, args ...string) (string, error) {
	t.Helper()
	bin := ocitest.NeedTool(t, tool)
	cmd := exec.Command(bin, args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "DOCKER_CONFIG="+home)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func trustedRoot(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(p, []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The acceptance check: release with a key to a registry; cosign v2 and v3
// verify the SPDX attestation and the provenance of each platform, in each
// format; the SPDX lists golang.org/x/mod v0.42.0; Gantry's verifier passes
// on the layout and the registry.
func TestReleaseAttestations(t *testing.T) {
	r := releaseHello(t)
	root := trustedRoot(t)
	_, otherPub, err := keys.WriteKeyPair(filepath.Join(t.TempDir(), "other"), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	formats := []struct {
		name  string
		flags map[string][]string
	}{
		{"both", map[string][]string{"cosign-v2": nil, "cosign-v3": nil}},
		{"bundle", map[string][]string{"cosign-v2": {"--new-bundle-format=true"}, "cosign-v3": nil}},
		{"legacy", map[string][]string{"cosign-v2": nil, "cosign-v3": {"--new-bundle-format=false"}}},
	}
	for _, plat := range []string{"v1.2.3-amd64", "v1.2.3-arm64"} {
		ref := r.repo + "@" + r.digests[plat].String()
		for _, typ := range []string{"spdxjson", "slsaprovenance1"} {
			for _, f := range formats {
				for _, tool := range []string{"cosign-v2", "cosign-v3"} {
					t.Run(strings.Join([]string{plat, typ, f.name, tool}, "/"), func(t *testing.T) {
						args := append([]string{"verify-attestation", "--key", r.pub, "--type", typ, "--insecure-ignore-tlog=true", "--trusted-root", root}, f.flags[tool]...)
						if out, err := cosign(t, tool, append(args, ref)...); err != nil {
							t.Errorf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, lastLines(out, 8))
						}
						bad := append([]string{"verify-attestation", "--key", otherPub, "--type", typ, "--insecure-ignore-tlog=true", "--trusted-root", root}, f.flags[tool]...)
						if out, err := cosign(t, tool, append(bad, ref)...); err == nil {
							t.Errorf("%s verifies with an unrelated key:\n%s", tool, lastLines(out, 8))
						}
					})
				}
			}
		}
	}

	t.Run("spdx lists the dependency", func(t *testing.T) {
		for _, f := range []string{"hello.spdx.json", "hello-linux-amd64.spdx.json", "hello-linux-arm64.spdx.json"} {
			raw, err := os.ReadFile(filepath.Join(r.out, "sbom", f))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := spdxjson.Read(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if err := spdxlib.ValidateDocument(doc); err != nil {
				t.Errorf("%s does not validate: %v", f, err)
			}
			if f == "hello.spdx.json" {
				continue
			}
			found := false
			for _, p := range doc.Packages {
				if p.PackageName == "golang.org/x/mod" {
					found = true
					if p.PackageVersion != "v0.42.0" || p.PackageExternalReferences[0].Locator != "pkg:golang/golang.org/x/mod@v0.42.0" {
						t.Errorf("%s: golang.org/x/mod is %s (%s), want v0.42.0", f, p.PackageVersion, p.PackageExternalReferences[0].Locator)
					}
					if p.PackageLicenseDeclared != "BSD-3-Clause" || len(p.PackageChecksums) != 1 {
						t.Errorf("%s: golang.org/x/mod license %q, checksums %v; want BSD-3-Clause (from vendor/) and go.sum's", f, p.PackageLicenseDeclared, p.PackageChecksums)
					}
				}
			}
			if !found {
				t.Errorf("%s lists no golang.org/x/mod", f)
			}
		}
	})

	t.Run("gantry verifies", func(t *testing.T) {
		pubKey := loadPub(t, r.pub)
		rep, err := sign.VerifyLayout(context.Background(), r.dir, pubKey)
		if err != nil {
			t.Fatalf("layout: %v", err)
		}
		for _, c := range rep.Checks {
			if !c.Attestations.Required || c.Attestations.Valid == 0 {
				t.Errorf("%s: attestations %s, want verified", c.Name, c.Attestations)
			}
		}
		ref, err := name.ParseReference(r.repo + ":v1.2.3")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sign.VerifyRemote(context.Background(), ref, pubKey, sign.WithRemoteOptions(anonymousAuth())); err != nil {
			t.Errorf("registry: %v", err)
		}
	})
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
