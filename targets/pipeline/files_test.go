//go:build unix

package pipeline_test

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/gantrybuild/gantry/targets/assemble"
	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/registrytest"
	"github.com/gantrybuild/gantry/targets/internal/testrepo"
)

// assetsProject is testdata/assets' image: its kodata/ (found by default),
// a config file, and the runtime settings a Dockerfile would give it.
func assetsProject() config.Project {
	return config.Project{Images: []config.Image{{
		Files:      []config.File{{Src: "config/app.yaml", Dst: "/etc/assets/"}},
		Env:        map[string]string{"APP_MODE": "production"},
		Args:       []string{"--serve", "--port=8080"},
		WorkingDir: "/srv",
		Ports:      []string{"8080"},
		StopSignal: "SIGINT",
	}}}
}

// filesLayer returns the layer of img that Gantry marks as its files layer,
// and checks it sits right below the binary's (the top layer).
func filesLayer(t *testing.T, img v1.Image) v1.Descriptor {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var found []int
	for i, l := range m.Layers {
		if l.Annotations[assemble.FilesLayerAnnotation] == assemble.FilesLayerValue {
			found = append(found, i)
		}
	}
	if len(found) != 1 || found[0] != len(m.Layers)-2 {
		t.Fatalf("files layer at %v of %d layers, want exactly one, right below the binary's", found, len(m.Layers))
	}
	return m.Layers[found[0]]
}

func sumFile(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// TestImageFiles builds testdata/assets with the real pipeline and reads
// the result with umoci: files, modes, digests, the symlink, and the
// runtime config (env, args, working directory) a runtime would use.
func TestImageFiles(t *testing.T) {
	repo := testrepo.New(t, "assets", "")
	repo.Tag(t, "v1.0.0")
	release(t, mustBuild(t, repo.Dir, assetsProject(), nil))
	dir := filepath.Join(repo.Dir, "dist", "oci", "assets")
	ocitest.ValidateLayout(t, dir)

	amd, arm := platformImage(t, dir, "linux/amd64"), platformImage(t, dir, "linux/arm64")
	for _, img := range []v1.Image{amd, arm} {
		if err := validate.Image(img); err != nil {
			t.Errorf("validate.Image: %v", err)
		}
	}
	fa, fb := filesLayer(t, amd), filesLayer(t, arm)
	if fa.Digest != fb.Digest {
		t.Errorf("files layer differs across platforms: amd64 %s, arm64 %s", fa.Digest, fb.Digest)
	}

	// The layer itself: sorted, root-owned, mtime the Unix epoch (no
	// SOURCE_DATE_EPOCH: a new commit must not change it), parents first.
	l, err := amd.LayerByDigest(fa.Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := amd.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range ocitest.Entries(t, l) {
		names = append(names, h.Name)
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || h.ModTime.Unix() != 0 {
			t.Errorf("%s: owner %d:%d (%q:%q), mtime %s; want 0:0, no names, the Unix epoch", h.Name, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime)
		}
	}
	wantNames := []string{
		"etc/", "etc/assets/", "etc/assets/app.yaml",
		"var/", "var/run/", "var/run/ko/", "var/run/ko/bin/", "var/run/ko/bin/start.sh",
		"var/run/ko/home.html", "var/run/ko/index.html",
		"var/run/ko/static/", "var/run/ko/static/css/", "var/run/ko/static/css/site.css",
	}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("files layer entries (-want +got):\n%s", diff)
	}

	// The SBOM lists every added file with its digests.
	var doc struct {
		Files []struct {
			FileName  string
			SPDXID    string
			Checksums []struct{ Algorithm, ChecksumValue string }
		}
		Relationships []struct{ SPDXElementID, RelationshipType, RelatedSPDXElement string }
	}
	if err := json.Unmarshal([]byte(fileText(t, filepath.Join(repo.Dir, "dist", "sbom", "assets-linux-amd64.spdx.json"))), &doc); err != nil {
		t.Fatal(err)
	}
	gotFiles := map[string]string{}
	for _, f := range doc.Files {
		for _, c := range f.Checksums {
			if c.Algorithm == "SHA256" {
				gotFiles[f.FileName] = c.ChecksumValue
			}
		}
		if !slices.ContainsFunc(doc.Relationships, func(r struct{ SPDXElementID, RelationshipType, RelatedSPDXElement string }) bool {
			return r.RelationshipType == "CONTAINS" && r.RelatedSPDXElement == f.SPDXID
		}) {
			t.Errorf("SBOM: no CONTAINS relationship to %s", f.FileName)
		}
	}
	wantFiles := map[string]string{
		"/etc/assets/app.yaml":            sumFile(t, filepath.Join(repo.Dir, "config/app.yaml")),
		"/var/run/ko/bin/start.sh":        sumFile(t, filepath.Join(repo.Dir, "kodata/bin/start.sh")),
		"/var/run/ko/index.html":          sumFile(t, filepath.Join(repo.Dir, "kodata/index.html")),
		"/var/run/ko/static/css/site.css": sumFile(t, filepath.Join(repo.Dir, "kodata/static/css/site.css")),
	}
	if diff := cmp.Diff(wantFiles, gotFiles); diff != "" {
		t.Errorf("SBOM files and their SHA-256 (-want +got):\n%s", diff)
	}

	umoci := ocitest.NeedTool(t, "umoci")
	bundle := filepath.Join(t.TempDir(), "bundle")
	args := []string{"unpack"}
	if os.Geteuid() != 0 {
		args = append(args, "--rootless")
	}
	runTool(t, umoci, append(args, "--image", dir+":v1.0.0-amd64", bundle)...)
	rootfs := filepath.Join(bundle, "rootfs")
	src := repo.Dir
	for _, f := range []struct {
		path, src string
		mode      os.FileMode
	}{
		{"var/run/ko/index.html", "kodata/index.html", 0o644},
		{"var/run/ko/static/css/site.css", "kodata/static/css/site.css", 0o644},
		{"var/run/ko/bin/start.sh", "kodata/bin/start.sh", 0o755},
		{"etc/assets/app.yaml", "config/app.yaml", 0o644},
	} {
		p := filepath.Join(rootfs, f.path)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Error(err)
			continue
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != f.mode {
			t.Errorf("%s: mode %v, want a regular file %v", f.path, fi.Mode(), f.mode)
		}
		if got, want := sumFile(t, p), sumFile(t, filepath.Join(src, f.src)); got != want {
			t.Errorf("%s: sha256 %s, want %s (of %s)", f.path, got, want, f.src)
		}
	}
	if link, err := os.Readlink(filepath.Join(rootfs, "var/run/ko/home.html")); err != nil || link != "index.html" {
		t.Errorf("var/run/ko/home.html: link %q (%v), want a symlink to index.html", link, err)
	}
	for _, d := range []string{"var/run/ko", "var/run/ko/static/css", "etc/assets"} {
		if fi, err := os.Lstat(filepath.Join(rootfs, d)); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v (%v), want a directory 0755", d, fi.Mode(), err)
		}
	}
	if _, err := os.Stat(filepath.Join(rootfs, "usr/local/bin/assets")); err != nil {
		t.Errorf("the binary is not in the image: %v", err)
	}

	var spec struct {
		Process struct {
			Args []string
			Env  []string
			Cwd  string
		}
		Annotations map[string]string
	}
	if err := json.Unmarshal([]byte(fileText(t, filepath.Join(bundle, "config.json"))), &spec); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/usr/local/bin/assets", "--serve", "--port=8080"}, spec.Process.Args); diff != "" {
		t.Errorf("runtime args (-want +got):\n%s", diff)
	}
	if spec.Process.Cwd != "/srv" {
		t.Errorf("runtime cwd %q, want /srv", spec.Process.Cwd)
	}
	for _, e := range []string{"APP_MODE=production", "KO_DATA_PATH=/var/run/ko", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"} {
		if !slices.Contains(spec.Process.Env, e) {
			t.Errorf("runtime env %q lacks %s", spec.Process.Env, e)
		}
	}
	if got := spec.Annotations["org.opencontainers.image.stopSignal"]; got != "SIGINT" {
		t.Errorf("stop signal annotation %q, want SIGINT", got)
	}
	if _, ok := cf.Config.ExposedPorts["8080/tcp"]; !ok || cf.Config.StopSignal != "SIGINT" {
		t.Errorf("image config ports %v, stop signal %q; want 8080/tcp, SIGINT", cf.Config.ExposedPorts, cf.Config.StopSignal)
	}

	// The program itself finds its kodata where KO_DATA_PATH says.
	out := runInRootfs(t, rootfs, "usr/local/bin/assets", spec.Process.Env, spec.Process.Args[1:])
	if !strings.Contains(out, `index="<h1>hello from kodata</h1>"`) || !strings.Contains(out, "mode=production") {
		t.Errorf("the program printed %q, want it to read its kodata and env", out)
	}

	t.Run("podman run", func(t *testing.T) { podmanRun(t, dir+":v1.0.0-amd64") }) // dir has no ':'

}

// podmanRun runs the image in a real container: the program prints its
// working directory, arguments, APP_MODE and the index.html it reads
// through KO_DATA_PATH. .ci/run installs podman and runc, so under CI a
// missing podman fails the test; elsewhere it skips and says so.
func podmanRun(t *testing.T, ref string) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the image's program is amd64: the runtime config is checked through umoci above")
	}
	podman := ocitest.NeedTool(t, "podman")
	// podman takes an oci: path as an image name, which must be lower
	// case: t.TempDir() has the test's name in it.
	tmp, err := os.MkdirTemp("", "gantry-podman-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	layoutDir, tag, _ := strings.Cut(ref, ":")
	if err := os.Symlink(layoutDir, filepath.Join(tmp, "layout")); err != nil {
		t.Fatal(err)
	}
	ref = filepath.Join(tmp, "layout") + ":" + tag
	// Root only, as this machine allows it: its own storage, no network,
	// limits the sandbox lets a process set.
	args := []string{
		"--root", filepath.Join(tmp, "root"), "--runroot", filepath.Join(tmp, "run"),
		"--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--runtime", "runc",
		"run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
		"oci:" + ref,
	}
	cmd := exec.Command(podman, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if os.Geteuid() != 0 {
			t.Skipf("podman run needs root here: %v\n%s", err, out)
		}
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	want := `cwd=/srv mode=production args=--serve,--port=8080 index="<h1>hello from kodata</h1>"`
	if !strings.Contains(string(out), want) {
		t.Errorf("podman run printed:\n%s\nwant a line with %s", out, want)
	}
}

// runInRootfs runs an amd64 binary of an unpacked image with KO_DATA_PATH
// pointed into the rootfs (no container runtime here: the path is the
// image's one, moved under rootfs).
func runInRootfs(t *testing.T, rootfs, bin string, env, args []string) string {
	t.Helper()
	var e []string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "KO_DATA_PATH="); ok {
			kv = "KO_DATA_PATH=" + filepath.Join(rootfs, v)
		}
		e = append(e, kv)
	}
	if runtime.GOARCH != "amd64" {
		t.Skip("the amd64 binary runs only on amd64")
	}
	cmd := exec.Command(filepath.Join(rootfs, bin), args...)
	cmd.Env, cmd.Dir = e, rootfs
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("running %s: %v\n%s", bin, err, out)
	}
	return string(out)
}

// TestImageFilesRebuild: a code-only change leaves the files layer as it
// was (same blob, not re-uploaded), an edited asset changes it, and a
// rebuild with nothing changed writes nothing; a second push uploads
// nothing.
func TestImageFilesRebuild(t *testing.T) {
	reg := registrytest.Start(t)
	proxy := registrytest.NewProxy(t, reg.Host, 1)
	env := map[string]string{"GANTRY_REPO": proxy.Repo("assets"), "GANTRY_SBOM": "0", "GANTRY_PROGRESS": "plain"}
	repo := testrepo.New(t, "assets", "")
	dir := filepath.Join(repo.Dir, "dist", "oci", "assets")
	build := func() (files, app v1.Hash) {
		t.Helper()
		release(t, mustBuild(t, repo.Dir, assetsProject(), env))
		img := platformImage(t, dir, "linux/amd64")
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		return filesLayer(t, img).Digest, m.Layers[len(m.Layers)-1].Digest
	}

	files0, app0 := build()
	// Every blob once: the files layer, shared by both platforms, too.
	blobs := map[v1.Hash]bool{}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		m, err := platformImage(t, dir, p).Manifest()
		if err != nil {
			t.Fatal(err)
		}
		blobs[m.Config.Digest] = true
		for _, l := range m.Layers {
			blobs[l.Digest] = true
		}
	}
	if c := proxy.Counts(); c.BlobsUploaded != len(blobs) {
		t.Errorf("first push uploaded %d blobs, want %d (each distinct blob once)", c.BlobsUploaded, len(blobs))
	}

	// Nothing changed: the layout is not touched and nothing is uploaded.
	before := snapshot(t, dir)
	proxy.ResetCounts()
	if files, app := build(); files != files0 || app != app0 {
		t.Errorf("a rebuild with nothing changed gave files %s, binary %s; want %s, %s", files, app, files0, app0)
	}
	if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
		t.Errorf("a rebuild with nothing changed rewrote the layout (-before +after):\n%s", diff)
	}
	if c := proxy.Counts(); c.UploadStarts != 0 || c.BlobPatches != 0 || c.Methods[http.MethodPut] != 0 {
		t.Errorf("second push: %d upload starts, %d PATCH, %d PUT; want none", c.UploadStarts, c.BlobPatches, c.Methods[http.MethodPut])
	}

	// A code-only change: a new binary layer, the same files layer, which
	// the push finds already there.
	main := filepath.Join(repo.Dir, "main.go")
	code := fileText(t, main)
	repo.Write(t, "main.go", strings.Replace(code, `"assets %s`, `"assets v2 %s`, 1))
	repo.Commit(t, "code only")
	proxy.ResetCounts()
	files1, app1 := build()
	if files1 != files0 {
		t.Errorf("a code-only change changed the files layer: %s, was %s", files1, files0)
	}
	if app1 == app0 {
		t.Errorf("a code change left the binary layer %s as it was", app1)
	}
	if c := proxy.Counts(); c.BlobsUploaded != 4 { // two binary layers, two configs
		t.Errorf("push after a code-only change uploaded %d blobs, want 4 (binaries and configs; not the files)", c.BlobsUploaded)
	}

	// An edited asset: a new files layer.
	repo.Write(t, "kodata/index.html", "<h1>edited</h1>\n")
	repo.Commit(t, "an asset")
	files2, _ := build() // the binary changes too: a new commit is a new version
	if files2 == files1 {
		t.Errorf("editing kodata/index.html left the files layer %s as it was", files2)
	}
	l, err := platformImage(t, dir, "linux/arm64").LayerByDigest(files2)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(ocitest.LayerFile(t, l, "var/run/ko/index.html")); got != "<h1>edited</h1>\n" {
		t.Errorf("arm64 image's index.html = %q, want the edit", got)
	}
	for _, h := range ocitest.Entries(t, l) {
		if h.Typeflag == tar.TypeSymlink && h.Linkname != "index.html" {
			t.Errorf("%s links to %q", h.Name, h.Linkname)
		}
	}
}
