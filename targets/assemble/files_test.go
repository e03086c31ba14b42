package assemble

import (
	"archive/tar"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/gantrybuild/gantry/targets/assets"
)

// testFiles resolves and hashes a small tree: a file, a script, a link.
func testFiles(t *testing.T) []assets.Entry {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "web", "css"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "web/index.html", []byte("<h1>hi</h1>\n"))
	writeFile(t, dir, "web/css/site.css", []byte("body{}\n"))
	if err := os.WriteFile(filepath.Join(dir, "web", "run.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("index.html", filepath.Join(dir, "web", "home.html")); err != nil {
		t.Fatal(err)
	}
	entries, err := assets.Resolve(dir, []assets.Spec{{Field: "Files[0]", Src: "web", Dst: "/srv/web"}}, assets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := assets.Sum(context.Background(), entries, ""); err != nil {
		t.Fatal(err)
	}
	return entries
}

func TestFilesLayer(t *testing.T) {
	store := newStore(t)
	dir := t.TempDir()
	packs := 0
	files := testFiles(t)
	req := Request{
		Store: store, Name: "app", Base: staticBaseFor(t, amd64), Created: testCreated,
		CacheDir: filepath.Join(dir, "cache"), onPack: countPacks(&packs),
		Files: files, Env: []string{"APP_MODE=prod", "PATH=/srv/bin"}, Cmd: []string{"serve"},
		WorkingDir: "/srv", Ports: []string{"8080/tcp"}, StopSignal: "SIGINT",
	}
	build := func(p v1.Platform, bin string) (v1.Image, *v1.Manifest) {
		t.Helper()
		r := req
		r.Platform, r.Base = p, staticBaseFor(t, p)
		r.Binary = writeFile(t, dir, "app_"+p.Architecture, []byte(bin))
		img := buildImage(t, r)
		if err := validate.Image(img); err != nil {
			t.Errorf("validate.Image: %v", err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		return img, m
	}
	amdImg, amd := build(amd64, "amd64 binary")
	_, arm := build(arm64, "arm64 binary")
	n := len(amd.Layers)
	if n != 3 || amd.Layers[1].Annotations[FilesLayerAnnotation] != FilesLayerValue || len(amd.Layers[2].Annotations) != 0 {
		t.Fatalf("layers %+v: want base, files (annotated), binary", amd.Layers)
	}
	if amd.Layers[1].Digest != arm.Layers[1].Digest {
		t.Errorf("files layer differs across platforms: %s, %s", amd.Layers[1].Digest, arm.Layers[1].Digest)
	}
	// Packed once: each binary layer, the static base once per platform, the files layer once.
	if want := 2 + 1; packs != want {
		t.Errorf("packed %d layers, want %d (the files layer once for both platforms)", packs, want)
	}

	l, err := amdImg.LayerByDigest(amd.Layers[1].Digest)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	epoch := time.Unix(0, 0).UTC()
	var got []tarEntry
	for _, e := range readTar(t, rc, 100) {
		got = append(got, tarEntry{Name: e.Name, Typeflag: e.Typeflag, Mode: e.Mode, ModTime: e.ModTime, Content: e.Content, PAX: e.PAX})
	}
	want := []tarEntry{
		{Name: "srv/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch},
		{Name: "srv/web/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch},
		{Name: "srv/web/css/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch},
		{Name: "srv/web/css/site.css", Typeflag: tar.TypeReg, Mode: 0o644, ModTime: epoch, Content: "body{}\n"},
		{Name: "srv/web/home.html", Typeflag: tar.TypeSymlink, Mode: 0o777, ModTime: epoch},
		{Name: "srv/web/index.html", Typeflag: tar.TypeReg, Mode: 0o644, ModTime: epoch, Content: "<h1>hi</h1>\n"},
		{Name: "srv/web/run.sh", Typeflag: tar.TypeReg, Mode: 0o755, ModTime: epoch, Content: "#!/bin/sh\n"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files layer (-want +got):\n%s", diff)
	}

	cf, err := amdImg.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if !slices.Contains(c.Env, "APP_MODE=prod") || c.Env[0] != "PATH=/srv/bin" || slices.ContainsFunc(c.Env[1:], func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
		t.Errorf("env %q: want PATH replaced in place and APP_MODE added", c.Env)
	}
	if diff := cmp.Diff([]string{"serve"}, c.Cmd); diff != "" || c.WorkingDir != "/srv" || c.StopSignal != "SIGINT" {
		t.Errorf("cmd %q, working dir %q, stop signal %q; want [serve], /srv, SIGINT", c.Cmd, c.WorkingDir, c.StopSignal)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("exposed ports %v lack 8080/tcp", c.ExposedPorts)
	}
	if h := cf.History; len(h) != 3 || h[1].CreatedBy != "gantry: COPY 3 files" {
		t.Errorf("history %+v: want the files layer's entry second", h)
	}

	// SOURCE_DATE_EPOCH gives the files their mtime, and so another layer.
	r := req
	r.Platform, r.Binary, r.FilesTime = amd64, filepath.Join(dir, "app_amd64"), testCreated
	if m, _ := buildImage(t, r).Manifest(); m.Layers[1].Digest == amd.Layers[1].Digest {
		t.Error("the files layer ignores FilesTime")
	}
	// An edited file gives another layer; its old digest is refused.
	edited := slices.Clone(files)
	for i := range edited {
		if strings.HasSuffix(edited[i].Path, "index.html") {
			if err := os.WriteFile(edited[i].Source, []byte("<h1>new</h1>\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	r.Files, r.CacheDir = edited, "" // packed again, not found in the cache by the old digests
	if _, err := Image(context.Background(), r); err == nil || !strings.Contains(err.Error(), "changed while the image was built") {
		t.Errorf("a file edited after hashing: error %v, want it named", err)
	}
}

// TestWindowsFilesLayer: files go under Files/ after Hives and Files, with
// the binary's security descriptor; a symlink is refused in one line.
func TestWindowsFilesLayer(t *testing.T) {
	win := v1.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.20348.2461"}
	base, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{OS: "windows", Architecture: "amd64", OSVersion: win.OSVersion, RootFS: v1.RootFS{Type: "layers"}})
	if err != nil {
		t.Fatal(err)
	}
	files := testFiles(t)
	bin := writeFile(t, t.TempDir(), "app.exe", []byte("MZ not really"))
	req := Request{Store: newStore(t), Binary: bin, Name: "app", Platform: win, Base: Base{Image: base}, Created: testCreated, WorkingDir: "/srv/web"}

	req.Files = files
	if _, err := Image(context.Background(), req); err == nil || !strings.Contains(err.Error(), "Files[0]: /srv/web/home.html is a symlink (to index.html), which a windows image layer cannot carry") {
		t.Fatalf("error %v, want the symlink refused", err)
	}
	req.Files = slices.DeleteFunc(slices.Clone(files), func(e assets.Entry) bool { return e.Type == tar.TypeSymlink })
	img := buildImage(t, req)
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	l, err := img.LayerByDigest(m.Layers[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var names []string
	for _, e := range readTar(t, rc, 0) {
		names = append(names, e.Name)
		if e.Typeflag == tar.TypeReg && e.PAX[paxRawSD] != windowsBinarySD {
			t.Errorf("%s has no security descriptor", e.Name)
		}
	}
	want := []string{"Hives", "Files", "Files/srv", "Files/srv/web", "Files/srv/web/css", "Files/srv/web/css/site.css", "Files/srv/web/index.html", "Files/srv/web/run.sh"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("windows files layer (-want +got):\n%s", diff)
	}
	if cf, _ := img.ConfigFile(); cf.Config.WorkingDir != `C:\srv\web` {
		t.Errorf("windows working dir %q, want C:\\srv\\web", cf.Config.WorkingDir)
	}
}
