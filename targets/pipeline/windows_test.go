package pipeline_test

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/pe"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/registrytest"
	"github.com/gantrybuild/gantry/targets/internal/testrepo"
	"github.com/gantrybuild/gantry/targets/sign/keys"
)

// koRawSD is the security descriptor ko writes on Windows binaries (ko's
// pkg/build/gobuild.go, userOwnerAndGroupSID).
const koRawSD = "AQAAgBQAAAAkAAAAAAAAAAAAAAABAgAAAAAABSAAAAAhAgAAAQIAAAAAAAUgAAAAIQIAAA=="

const winOSVersion = "10.0.20348.2655"

// windowsRelease is a signed release of testdata/hello for linux/amd64,
// linux/arm64 and windows/amd64, pushed to a loopback registry, with the
// Windows image on a Windows base whose first layer is foreign.
type windowsRelease struct {
	repo    *testrepo.Repo
	reg     *registrytest.Registry
	foreign *registrytest.Foreign
	base    registrytest.WindowsBase
	env     map[string]string
	pub     string
	dir     string // the layout
	version string
}

func releaseWindows(t *testing.T) windowsRelease {
	t.Helper()
	r := windowsRelease{reg: registrytest.Start(t, registrytest.WithManifestURLs(registrytest.ForeignURLs))}
	r.foreign = registrytest.StartForeign(t)
	r.base = registrytest.PushWindowsBase(t, r.foreign, r.reg.Repo("windows/nanoserver:ltsc2022"), winOSVersion, "amd64", "arm64")
	r.repo = testrepo.New(t, "hello", "")
	r.repo.Tag(t, "v1.2.3")
	key, pub, err := keys.WriteKeyPair(filepath.Join(t.TempDir(), "cosign"), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	r.pub = pub
	r.env = map[string]string{
		"GANTRY_PLATFORMS": "linux/amd64,linux/arm64,windows/amd64",
		"GANTRY_BASES":     "windows=" + r.base.Ref,
		"GANTRY_SIGN_KEY":  key, "COSIGN_PASSWORD": "pw",
		"GANTRY_REPO": r.reg.Repo("hello"), "GANTRY_PROGRESS": "plain",
		"DOCKER_CONFIG": t.TempDir(),
	}
	b := mustBuild(t, r.repo.Dir, config.Project{}, r.env)
	release(t, b)
	r.dir = filepath.Join(r.repo.Dir, "dist", "oci", "hello")
	r.version = b.Version
	return r
}

// The acceptance check of Windows images: one index with linux/amd64,
// linux/arm64 and windows/amd64 carrying the base's os.version; the Windows
// layer as ko writes it; the foreign base layer never fetched, never in the
// layout, never uploaded, its URLs kept; skopeo, crane and cosign agree;
// per-platform builds merge into the same index.
func TestReleaseWindows(t *testing.T) {
	r := releaseWindows(t)
	if n := r.foreign.Hits(); n != 0 {
		t.Errorf("release and push fetched the foreign layer %d times, want never", n)
	}
	ref := r.reg.Repo("hello:" + r.version)

	// The index in the registry, with the platforms and the base's os.version.
	idx, err := remote.Index(mustRef(t, ref))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var plats []v1.Platform
	var winDesc v1.Descriptor
	for _, d := range im.Manifests {
		plats = append(plats, *d.Platform)
		if d.Platform.OS == "windows" {
			winDesc = d
		}
	}
	want := []v1.Platform{
		{OS: "linux", Architecture: "amd64"},
		{OS: "linux", Architecture: "arm64"},
		{OS: "windows", Architecture: "amd64", OSVersion: winOSVersion, OSFeatures: []string{"win32k"}},
	}
	if diff := cmp.Diff(want, plats); diff != "" {
		t.Errorf("index platforms (-want +got):\n%s", diff)
	}

	// The Windows image: foreign layer kept with its URLs, first.
	win, err := remote.Image(mustRef(t, r.reg.Repo("hello@"+winDesc.Digest.String())))
	if err != nil {
		t.Fatal(err)
	}
	m, err := win.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	fl := m.Layers[0]
	baseForeign := r.base.Foreign["amd64"]
	if fl.Digest != baseForeign.Digest || fl.Size != baseForeign.Size || !slices.Equal(fl.URLs, baseForeign.URLs) || fl.MediaType != types.OCIRestrictedLayer {
		t.Errorf("foreign layer in the image = %+v, want the base's %+v as %s", fl, baseForeign, types.OCIRestrictedLayer)
	}
	if _, err := os.Stat(filepath.Join(r.dir, "blobs", "sha256", fl.Digest.Hex)); err == nil {
		t.Errorf("the layout holds the foreign layer %s", fl.Digest)
	}
	if code := headBlob(t, r.reg.Host, "hello", fl.Digest); code != http.StatusNotFound {
		t.Errorf("HEAD foreign blob in the pushed repository: %d, want 404 (never uploaded)", code)
	}
	if len(m.Layers) != 3 {
		t.Fatalf("windows image has %d layers, want the base's 2 and the app's", len(m.Layers))
	}

	cf, err := win.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	gotCfg := []any{cf.OS, cf.Architecture, cf.OSVersion, cf.OSFeatures, cf.Config.Entrypoint, cf.Config.User, cf.Config.Env}
	wantCfg := []any{"windows", "amd64", winOSVersion, []string{"win32k"}, []string{`C:\app\hello.exe`}, "ContainerUser",
		[]string{`PATH=C:\app;C:\Windows\system32;C:\Windows`}}
	if diff := cmp.Diff(wantCfg, gotCfg); diff != "" {
		t.Errorf("windows config: os, arch, os.version, os.features, entrypoint, user, env (-want +got):\n%s", diff)
	}

	// The app layer: Hives, Files, Files/app, Files/app/hello.exe.
	app, err := win.LayerByDigest(m.Layers[2].Digest)
	if err != nil {
		t.Fatal(err)
	}
	checkWindowsLayer(t, app, cf.Created.Time.Unix())
	exe := ocitest.LayerFile(t, app, "Files/app/hello.exe")
	machine, subsystem, err := ocitest.PEMachine(exe)
	if err != nil || machine != pe.IMAGE_FILE_MACHINE_AMD64 || subsystem != pe.IMAGE_SUBSYSTEM_WINDOWS_CUI {
		t.Errorf("binary: machine %#x subsystem %d (%v), want an amd64 console PE", machine, subsystem, err)
	}
	info, err := buildinfo.Read(bytes.NewReader(exe))
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	// (go records no -ldflags under -trimpath: the injected version is in the data.)
	if settings["GOOS"] != "windows" || settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" || !bytes.Contains(exe, []byte("v1.2.3")) {
		t.Errorf("binary build settings %v: want GOOS=windows, CGO_ENABLED=0, -trimpath, and v1.2.3 injected", settings)
	}

	// Outside clients.
	out := runTool(t, ocitest.NeedTool(t, "skopeo"), "inspect", "--tls-verify=false", "--override-os", "windows", "--override-arch", "amd64", "docker://"+ref)
	var insp struct {
		Os, Architecture string
		Layers           []string
	}
	if err := json.Unmarshal(out, &insp); err != nil {
		t.Fatal(err)
	}
	if insp.Os != "windows" || insp.Architecture != "amd64" || len(insp.Layers) != 3 || insp.Layers[0] != fl.Digest.String() || insp.Layers[2] != m.Layers[2].Digest.String() {
		t.Errorf("skopeo inspect --override-os windows: %s", out)
	}
	crane := ocitest.NeedTool(t, "crane")
	for _, d := range im.Manifests {
		// The full check downloads every layer: the foreign one from its URL.
		if out, err := exec.Command(crane, "validate", "--remote", r.reg.Repo("hello@"+d.Digest.String())).CombinedOutput(); err != nil {
			t.Errorf("crane validate %s: %v\n%s", d.Platform, err, out)
		}
	}
	if r.foreign.Hits() == 0 {
		t.Error("crane validate did not fetch the foreign layer from its URL")
	}
	// --fast downloads nothing but asks the registry for every layer, so it
	// reports the foreign one missing (docs/windows.md says so).
	if out, err := exec.Command(crane, "validate", "--fast", "--remote", r.reg.Repo("hello@"+winDesc.Digest.String())).CombinedOutput(); err == nil || !strings.Contains(string(out), "layer does not exist") {
		t.Errorf("crane validate --fast on the windows image: %v, want the foreign layer reported missing\n%s", err, out)
	}
	spdx, err := os.ReadFile(filepath.Join(r.repo.Dir, "dist", "sbom", "hello-windows-amd64.spdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(spdx), "golang.org/x/mod") || !strings.Contains(string(spdx), `C:\\app\\hello.exe`) {
		t.Errorf("the windows SBOM does not list the binary's build info or its path")
	}
	ocitest.ValidateLayout(t, r.dir)

	// Per-platform runners (linux on one, windows on another) merge into
	// the same index: same digests, the foreign layer still never fetched.
	hits := r.foreign.Hits()
	var outs []string
	for _, p := range []string{"linux/amd64,linux/arm64", "windows/amd64"} {
		dist := filepath.Join(t.TempDir(), "dist")
		env := map[string]string{"GANTRY_PLATFORMS": p, "GANTRY_BASES": r.env["GANTRY_BASES"], "GANTRY_OUT": dist}
		b := mustBuild(t, r.repo.Dir, config.Project{}, env)
		ctx := context.Background()
		if err := b.Compile(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if err := b.Layout(ctx); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, dist)
	}
	mergeOut := filepath.Join(t.TempDir(), "dist")
	mb := mustBuild(t, r.repo.Dir, config.Project{}, map[string]string{
		"GANTRY_PLATFORMS": r.env["GANTRY_PLATFORMS"], "GANTRY_BASES": r.env["GANTRY_BASES"],
		"GANTRY_OUT": mergeOut, "GANTRY_INDEX_FROM": strings.Join(outs, ","),
	})
	if err := mb.Index(context.Background()); err != nil {
		t.Fatal(err)
	}
	merged := filepath.Join(mergeOut, "oci", "hello")
	ocitest.ValidateLayout(t, merged)
	if got, want := refNames(indexJSON(t, merged))[r.version].Digest, mustDigest(t, idx); got != want {
		t.Errorf("merged index %s differs from the single-runner index %s", got, want)
	}
	if n := r.foreign.Hits() - hits; n != 0 {
		t.Errorf("per-platform builds and the merge fetched the foreign layer %d times", n)
	}

	// cosign verifies the index and every platform, and each platform's SBOM
	// attestation (last: the test stops here without cosign).
	root := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(root, []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cosign := ocitest.NeedTool(t, "cosign-v3")
	for _, d := range append([]v1.Descriptor{{Digest: mustDigest(t, idx)}}, im.Manifests...) {
		target := r.reg.Repo("hello@" + d.Digest.String())
		args := [][]string{{"verify", "--key", r.pub, "--insecure-ignore-tlog=true", "--trusted-root", root, "--allow-http-registry", target}}
		if d.Platform != nil {
			args = append(args, []string{"verify-attestation", "--type", "spdxjson", "--key", r.pub, "--insecure-ignore-tlog=true", "--trusted-root", root, "--allow-http-registry", target})
		}
		for _, a := range args {
			cmd := exec.Command(cosign, a...)
			home := t.TempDir()
			cmd.Env = append(os.Environ(), "HOME="+home, "DOCKER_CONFIG="+home)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("cosign %s %s: %v\n%s", a[0], d.Platform, err, lastLines(string(out), 5))
			}
		}
	}
}

// checkWindowsLayer checks the app layer entry by entry: what ko writes
// (names aside: Files/app/hello.exe for ko's Files/ko-app/hello), with the
// image's created time as mtime.
func checkWindowsLayer(t *testing.T, l v1.Layer, created int64) {
	t.Helper()
	type entry struct {
		Name     string
		Type     byte
		Mode     int64
		Uid, Gid int
		Mtime    int64
		PAX      map[string]string
	}
	var got []entry
	for _, h := range ocitest.Entries(t, l) {
		got = append(got, entry{h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, h.ModTime.Unix(), h.PAXRecords})
	}
	sd := map[string]string{"MSWINDOWS.rawsd": koRawSD}
	want := []entry{
		{"Hives", tar.TypeDir, 0o555, 0, 0, created, nil},
		{"Files", tar.TypeDir, 0o555, 0, 0, created, nil},
		{"Files/app", tar.TypeDir, 0o555, 0, 0, created, nil},
		{"Files/app/hello.exe", tar.TypeReg, 0o555, 0, 0, created, sd},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("windows layer entries (-want +got):\n%s", diff)
	}
}

func mustRef(t testing.TB, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func mustDigest(t testing.TB, idx v1.ImageIndex) v1.Hash {
	t.Helper()
	h, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// headBlob is the status of HEAD /v2/<repo>/blobs/<digest>.
func headBlob(t testing.TB, host, repo string, h v1.Hash) int {
	t.Helper()
	resp, err := http.Head("http://" + host + "/v2/" + repo + "/blobs/" + h.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// The Windows layer matches what ko writes for the same program on the same
// base, entry by entry (type, mode, owner, PAX records), except for what
// docs/windows.md lists: the directory (app, not ko-app), the .exe
// extension and the mtimes (the created time; ko writes zero).
func TestWindowsLayerMatchesKo(t *testing.T) {
	ko := ocitest.NeedTool(t, "ko")
	reg := registrytest.Start(t, registrytest.WithManifestURLs(registrytest.ForeignURLs))
	foreign := registrytest.StartForeign(t)
	base := registrytest.PushWindowsBase(t, foreign, reg.Repo("windows/nanoserver:ltsc2022"), winOSVersion, "amd64")
	repo := testrepo.New(t, "hello", "")

	cmd := exec.Command(ko, "build", "--bare", "--sbom=none", "--platform=windows/amd64", ".")
	cmd.Dir = repo.Dir
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "DOCKER_CONFIG="+home, "GOFLAGS=", "KO_DOCKER_REPO="+reg.Repo("ko/hello"), "KO_DEFAULTBASEIMAGE="+base.Ref)
	for _, v := range []string{"GOCACHE", "GOMODCACHE"} { // the machine's, not the temp HOME's
		val, err := exec.Command("go", "env", v).Output()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Env = append(cmd.Env, v+"="+strings.TrimSpace(string(val)))
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ko build: %v\n%s", err, lastLines(stderr.String(), 10))
	}
	koRef := strings.TrimSpace(string(out))
	koImg := windowsImage(t, koRef)

	b := mustBuild(t, repo.Dir, config.Project{}, map[string]string{"GANTRY_PLATFORMS": "windows/amd64", "GANTRY_BASES": "windows=" + base.Ref})
	ctx := context.Background()
	if err := b.Compile(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Layout(ctx); err != nil {
		t.Fatal(err)
	}
	ours := platformImage(t, filepath.Join(repo.Dir, "dist", "oci", "hello"), "windows/amd64")

	type entry struct {
		Name         string
		Type         byte
		Mode         int64
		Uid, Gid     int
		Uname, Gname string
		Format       tar.Format
		PAX          map[string]string
	}
	rename := strings.NewReplacer("Files/ko-app", "Files/app", "/hello", "/hello.exe")
	entries := func(img v1.Image, ko bool) ([]entry, []int64) {
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		var es []entry
		var mtimes []int64
		for _, h := range ocitest.Entries(t, ls[len(ls)-1]) {
			n := h.Name
			if ko {
				n = rename.Replace(n)
			}
			es = append(es, entry{n, h.Typeflag, h.Mode, h.Uid, h.Gid, h.Uname, h.Gname, h.Format, h.PAXRecords})
			mtimes = append(mtimes, h.ModTime.Unix())
		}
		return es, mtimes
	}
	koEntries, koTimes := entries(koImg, true)
	ourEntries, ourTimes := entries(ours, false)
	t.Logf("mtimes: ko %v, Gantry %v", koTimes, ourTimes)
	if diff := cmp.Diff(koEntries, ourEntries); diff != "" {
		t.Errorf("windows layer entries (-ko +gantry):\n%s", diff)
	}

	koCfg, err := koImg.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	ourCfg, err := ours.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	koPath := strings.NewReplacer(`C:\ko-app\hello`, `C:\app\hello.exe`)
	got := []any{ourCfg.OSVersion, ourCfg.OSFeatures, ourCfg.Config.Entrypoint, ourCfg.Config.User}
	want := []any{koCfg.OSVersion, koCfg.OSFeatures, []string{koPath.Replace(koCfg.Config.Entrypoint[0])}, koCfg.Config.User}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("windows config: os.version, os.features, entrypoint, user (-ko +gantry):\n%s", diff)
	}
	// Where ko is wrong: it appends its directory to PATH with a colon
	// (C:\Windows:C:\ko-app, one bogus entry); Gantry puts it first, with
	// Windows' separator.
	basePath := `C:\Windows\system32;C:\Windows`
	if !slices.Contains(koCfg.Config.Env, "PATH="+basePath+`:C:\ko-app`) {
		t.Logf("ko's PATH is no longer %q: %q", "PATH="+basePath+`:C:\ko-app`, koCfg.Config.Env)
	}
	if want := []string{`PATH=C:\app;` + basePath}; !slices.Equal(ourCfg.Config.Env, want) {
		t.Errorf("env = %q, want %q", ourCfg.Config.Env, want)
	}
	if n := foreign.Hits(); n != 0 {
		t.Errorf("ko or Gantry fetched the foreign layer %d times", n)
	}
}

// windowsImage is the windows/amd64 image of ref (an index or an image).
func windowsImage(t *testing.T, ref string) v1.Image {
	t.Helper()
	desc, err := remote.Get(mustRef(t, ref))
	if err != nil {
		t.Fatal(err)
	}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.OS == "windows" {
			if d.Platform.OSVersion != winOSVersion {
				t.Errorf("ko's index entry os.version %q, want %q", d.Platform.OSVersion, winOSVersion)
			}
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
	}
	t.Fatalf("no windows image in %s", ref)
	return nil
}
