package registrytest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ForeignURLs is the WithManifestURLs pattern for a Foreign server.
const ForeignURLs = `^http://localhost:[0-9]+/`

// Foreign serves foreign (non-distributable) layer blobs on 127.0.0.1, as
// Microsoft serves Windows base layers outside the registries that list
// them, and counts the requests it gets.
type Foreign struct {
	URL   string
	blobs map[string][]byte
	hits  atomic.Int64
}

// StartForeign starts a Foreign server, stopped when the test ends.
func StartForeign(t testing.TB) *Foreign {
	t.Helper()
	f := &Foreign{blobs: map[string][]byte{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		b, ok := f.blobs[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	// By name: ggcr refuses to fetch a foreign layer from an IP literal that
	// is loopback or private (against SSRF), and so would crane validate.
	f.URL = strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	return f
}

// Hits is how many requests the server answered.
func (f *Foreign) Hits() int64 { return f.hits.Load() }

// WindowsBase is a Windows base image pushed to a registry: a Docker
// schema 2 manifest list (as Microsoft publishes nanoserver) whose images
// start with a foreign layer served by Foreign, never by the registry, then
// a small layer with Files/ and Hives/ entries.
type WindowsBase struct {
	Ref        string                   // repository:tag of the list
	OSVersion  string                   // of every image
	OSFeatures []string                 // of every image
	Foreign    map[string]v1.Descriptor // arch → its foreign layer's descriptor
	Images     map[string]v1.Hash       // arch → manifest digest
}

// PushWindowsBase builds a Windows base for arches with os.version
// osVersion and pushes it to repo (on a registry started WithManifestURLs
// (ForeignURLs)); the foreign layers' blobs go to f only.
func PushWindowsBase(t testing.TB, f *Foreign, repo, osVersion string, arches ...string) WindowsBase {
	t.Helper()
	ref, err := name.ParseReference(repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	wb := WindowsBase{Ref: ref.String(), OSVersion: osVersion, OSFeatures: []string{"win32k"}, Foreign: map[string]v1.Descriptor{}, Images: map[string]v1.Hash{}}
	idx := mutate.IndexMediaType(empty.Index, types.DockerManifestList)
	for i, arch := range arches {
		foreignBlob := gzipTar(t, []tarEntry{
			{name: "Files", dir: true}, {name: "Files/Windows", dir: true}, {name: "Files/Windows/System32", dir: true},
			{name: "Files/Windows/System32/cmd.exe", body: randomBytes(int64(i)+1, 4096)},
			{name: "Hives", dir: true}, {name: "Hives/Software_Base", body: []byte("regf base")},
		})
		foreign := gzipLayer(t, foreignBlob, types.DockerForeignLayer)
		fd, _ := foreign.Digest()
		f.blobs["blobs/"+fd.String()] = foreignBlob
		url := f.URL + "/blobs/" + fd.String()
		update := gzipLayer(t, gzipTar(t, []tarEntry{
			{name: "Files", dir: true}, {name: "Files/ProgramData", dir: true},
			{name: "Files/ProgramData/update.txt", body: []byte("cumulative update " + arch)},
			{name: "Hives", dir: true}, {name: "Hives/Software_Delta", body: []byte("regf delta")},
		}), types.DockerLayer)
		img, err := mutate.Append(empty.Image,
			mutate.Addendum{Layer: foreign, MediaType: types.DockerForeignLayer, URLs: []string{url}, History: v1.History{CreatedBy: "Apply image " + osVersion}},
			mutate.Addendum{Layer: update, History: v1.History{CreatedBy: "Install update " + osVersion}})
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture, cf.OSVersion, cf.OSFeatures = "windows", arch, osVersion, wb.OSFeatures
		cf.Created = v1.Time{Time: time.Date(2024, 8, 13, 0, 0, 0, 0, time.UTC)}
		cf.Config.Env = []string{`PATH=C:\Windows\system32;C:\Windows`}
		cf.Config.User = "ContainerUser"
		cf.Config.Entrypoint = nil
		cf.Config.Cmd = []string{"c:\\windows\\system32\\cmd.exe"}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		wb.Foreign[arch] = m.Layers[0]
		h, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		wb.Images[arch] = h
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "windows", Architecture: arch, OSVersion: osVersion, OSFeatures: wb.OSFeatures},
		}})
	}
	// remote.WriteIndex skips non-distributable layers: the registry never
	// gets the foreign blobs.
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatalf("pushing the Windows base: %v", err)
	}
	return wb
}

// gzipLayer is the layer of a gzip'd tar (static.NewLayer would take the
// compressed bytes for the diffID).
func gzipLayer(t testing.TB, blob []byte, mt types.MediaType) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(blob)), nil }, tarball.WithMediaType(mt))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

type tarEntry struct {
	name string
	dir  bool
	body []byte
}

func gzipTar(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o555, Typeflag: tar.TypeReg, Size: int64(len(e.body)), Format: tar.FormatPAX,
			PAXRecords: map[string]string{"MSWINDOWS.fileattr": "32"}}
		if e.dir {
			h.Typeflag, h.Size, h.PAXRecords = tar.TypeDir, 0, map[string]string{"MSWINDOWS.fileattr": "16"}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func randomBytes(seed, n int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}
