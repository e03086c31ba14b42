//go:build unix

package pipeline_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/index"
	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/testrepo"
)

// TestInterop reads a released layout with OCI tools that share no code
// with Gantry: skopeo (containers/image), umoci and oci-image-tool.
func TestInterop(t *testing.T) {
	repo := testrepo.New(t, "hello", "")
	repo.Tag(t, "v1.2.3")
	b := mustBuild(t, repo.Dir, config.Project{}, nil)
	release(t, b)
	dir := filepath.Join(repo.Dir, "dist", "oci", "hello")
	refs := refNames(indexJSON(t, dir))
	const version = "v1.2.3"
	for _, r := range []string{version, version + "-amd64", version + "-arm64"} {
		if _, ok := refs[r]; !ok {
			t.Fatalf("index.json names no %s (names: %v)", r, refs)
		}
	}

	t.Run("skopeo inspect", func(t *testing.T) {
		skopeo := ocitest.NeedTool(t, "skopeo")
		raw := runTool(t, skopeo, "inspect", "--raw", "oci:"+dir+":"+version)
		if got, want := sha256Digest(raw), refs[version].Digest.String(); got != want {
			t.Errorf("skopeo reads an index with digest %s, index.json names %s", got, want)
		}
		var im v1.IndexManifest
		if err := json.Unmarshal(raw, &im); err != nil {
			t.Fatalf("skopeo inspect --raw: %v\n%s", err, raw)
		}
		var got []string
		for _, m := range im.Manifests {
			got = append(got, m.Platform.Architecture+" "+m.Digest.String())
		}
		want := []string{
			"amd64 " + refs[version+"-amd64"].Digest.String(),
			"arm64 " + refs[version+"-arm64"].Digest.String(),
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("index manifests as skopeo reads them (-want +got):\n%s", diff)
		}

		// skopeo's own view of one platform image.
		var info struct {
			Digest       string
			Architecture string
			Os           string
			Labels       map[string]string
		}
		if err := json.Unmarshal(runTool(t, skopeo, "inspect", "oci:"+dir+":"+version+"-arm64"), &info); err != nil {
			t.Fatal(err)
		}
		wantInfo := [...]string{refs[version+"-arm64"].Digest.String(), "arm64", "linux", version}
		if gotInfo := [...]string{info.Digest, info.Architecture, info.Os, info.Labels[index.Version]}; gotInfo != wantInfo {
			t.Errorf("skopeo inspect: digest, arch, os, version label = %q, want %q", gotInfo, wantInfo)
		}
	})

	t.Run("skopeo copy", func(t *testing.T) {
		skopeo := ocitest.NeedTool(t, "skopeo")
		// An explicit policy, so the test does not depend on the machine's
		// /etc/containers/policy.json.
		policy := filepath.Join(t.TempDir(), "policy.json")
		if err := os.WriteFile(policy, []byte(`{"default":[{"type":"insecureAcceptAnything"}]}`), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			ref  string
			args []string
		}{
			{version + "-arm64", nil},
			{version, []string{"--all"}}, // the index and every platform image
		} {
			t.Run(tc.ref, func(t *testing.T) {
				other := filepath.Join(t.TempDir(), "copy")
				args := append([]string{"--policy", policy, "copy", "--quiet", "--preserve-digests"}, tc.args...)
				runTool(t, skopeo, append(args, "oci:"+dir+":"+tc.ref, "oci:"+other+":x")...)
				got := refNames(indexJSON(t, other))["x"]
				want := refs[tc.ref]
				if got.Digest != want.Digest || got.MediaType != want.MediaType {
					t.Fatalf("skopeo copied %s as %s %s, want %s %s", tc.ref, got.MediaType, got.Digest, want.MediaType, want.Digest)
				}
				// Every blob skopeo wrote is one of ours, byte for byte.
				blobs, err := filepath.Glob(filepath.Join(other, "blobs", "sha256", "*"))
				if err != nil || len(blobs) == 0 {
					t.Fatalf("no blobs in the copy (%v)", err)
				}
				for _, p := range blobs {
					if gotBlob, wantBlob := fileText(t, p), fileText(t, filepath.Join(dir, "blobs", "sha256", filepath.Base(p))); gotBlob != wantBlob {
						t.Errorf("copied blob %s differs from ours", filepath.Base(p))
					}
				}
			})
		}
	})

	t.Run("umoci unpack", func(t *testing.T) {
		umoci := ocitest.NeedTool(t, "umoci")
		bundle := filepath.Join(t.TempDir(), "bundle")
		args := []string{"unpack"}
		if os.Geteuid() != 0 {
			args = append(args, "--rootless")
		}
		runTool(t, umoci, append(args, "--image", dir+":"+version+"-amd64", bundle)...)
		rootfs := filepath.Join(bundle, "rootfs")

		bin := filepath.Join(rootfs, "usr/local/bin/hello")
		info, err := os.Stat(bin)
		if err != nil {
			t.Fatal(err)
		}
		if !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
			t.Errorf("usr/local/bin/hello has mode %v, want an executable file", info.Mode())
		}
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		if f.Machine != elf.EM_X86_64 || f.Class != elf.ELFCLASS64 || f.Type != elf.ET_EXEC {
			t.Errorf("usr/local/bin/hello is %v %v %v, want an x86-64 ELFCLASS64 ET_EXEC", f.Machine, f.Class, f.Type)
		}
		f.Close()

		passwd := fileText(t, filepath.Join(rootfs, "etc/passwd"))
		if !strings.Contains(passwd, "\nnonroot:x:65532:65532:") {
			t.Errorf("etc/passwd has no nonroot user 65532:\n%s", passwd)
		}
		if pool := x509.NewCertPool(); !pool.AppendCertsFromPEM([]byte(fileText(t, filepath.Join(rootfs, "etc/ssl/certs/ca-certificates.crt")))) {
			t.Error("etc/ssl/certs/ca-certificates.crt holds no PEM certificate")
		}
		if tz := fileText(t, filepath.Join(rootfs, "usr/share/zoneinfo/UTC")); !strings.HasPrefix(tz, "TZif") {
			t.Errorf("usr/share/zoneinfo/UTC starts with %q, want TZif", tz[:min(len(tz), 4)])
		}
		tmp, err := os.Lstat(filepath.Join(rootfs, "tmp"))
		if err != nil {
			t.Fatal(err)
		}
		if !tmp.IsDir() || tmp.Mode().Perm() != 0o777 || tmp.Mode()&os.ModeSticky == 0 {
			t.Errorf("tmp has mode %v, want drwxrwxrwt (1777)", tmp.Mode())
		}

		if os.Geteuid() == 0 { // rootless umoci maps owners to the caller
			for path, want := range map[string]uint32{"usr/local/bin/hello": 0, "etc/passwd": 0, "home/nonroot": 65532} {
				info, err := os.Lstat(filepath.Join(rootfs, path))
				if err != nil {
					t.Error(err)
					continue
				}
				if st := info.Sys().(*syscall.Stat_t); st.Uid != want || st.Gid != want {
					t.Errorf("%s is owned by %d:%d, want %d:%d", path, st.Uid, st.Gid, want, want)
				}
			}
		}

		// The runtime config umoci derives from the image config.
		var spec struct {
			Process struct {
				User struct{ UID, GID uint32 }
				Args []string
				Env  []string
			}
		}
		if err := json.Unmarshal([]byte(fileText(t, filepath.Join(bundle, "config.json"))), &spec); err != nil {
			t.Fatal(err)
		}
		if spec.Process.User.UID != 65532 || spec.Process.User.GID != 65532 {
			t.Errorf("bundle user = %d:%d, want 65532:65532", spec.Process.User.UID, spec.Process.User.GID)
		}
		if diff := cmp.Diff([]string{"/usr/local/bin/hello"}, spec.Process.Args); diff != "" {
			t.Errorf("bundle args (-want +got):\n%s", diff)
		}
		if !containsPrefix(spec.Process.Env, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt") {
			t.Errorf("bundle env %q lacks SSL_CERT_FILE", spec.Process.Env)
		}
	})

	t.Run("oci-image-tool validate", func(t *testing.T) {
		tool := ocitest.NeedTool(t, "oci-image-tool")
		for _, ref := range []string{version + "-amd64", version + "-arm64"} {
			// oci-image-tool 1.0.0-rc1 filters index.json by deleting from
			// the slice it is iterating over, so one pass skips the entry
			// after each one it drops: with entries [v, v-amd64, v-arm64],
			// name=v-arm64 leaves v-amd64 in and fails as "not unique".
			// Repeating the filter (once per index.json entry: the SBOM
			// referrers add entries) removes what each pass skipped.
			args := []string{"validate", "--type", "image"}
			for range indexJSON(t, dir).Manifests {
				args = append(args, "--ref", "name="+ref)
			}
			out := runTool(t, tool, append(args, dir)...)
			if !bytes.Contains(out, []byte("Validation succeeded")) {
				t.Errorf("oci-image-tool validate %s printed %q, want a success line", ref, out)
			}
		}
	})
}

// runTool runs a tool and returns its standard output; it fails the test when
// the tool fails.
func runTool(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", filepath.Base(name), strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func fileText(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func containsPrefix(list []string, s string) bool {
	for _, e := range list {
		if strings.HasPrefix(e, s) {
			return true
		}
	}
	return false
}
