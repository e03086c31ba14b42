package push

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/gantrybuild/gantry/targets/index"
	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/registrytest"
	"github.com/gantrybuild/gantry/targets/platform"
)

func TestPushTagsAndRepeat(t *testing.T) {
	reg := registrytest.Start(t)
	proxy := registrytest.NewProxy(t, reg.Host, 1)
	dir, idx := twoArch(t, "v1.2.3", 1)

	rec := &recorder{}
	res := mustPush(t, dir, proxy.Repo("hello"), WithProgress(rec))
	if !rec.closed {
		t.Error("progress was not closed")
	}
	got := res.Images[0]
	if got.Index.Digest != idx.Digest {
		t.Fatalf("pushed index %s, layout has %s", got.Index.Digest, idx.Digest)
	}
	if diff := cmp.Diff([]string{"v1.2.3", "1.2.3", "1.2", "1", "latest"}, got.Tags); diff != "" {
		t.Errorf("index tags (-want +got):\n%s", diff)
	}
	// Every tag, read straight from the registry (not through the proxy).
	for _, tag := range got.Tags {
		if d := remoteDigest(t, reg.Repo("hello:"+tag)); d != idx.Digest.String() {
			t.Errorf("hello:%s names %q, want the index %s", tag, d, idx.Digest)
		}
	}
	if len(got.Platforms) != 2 {
		t.Fatalf("pushed %d platforms, want 2", len(got.Platforms))
	}
	for _, p := range got.Platforms {
		arch := p.Platform.Architecture
		want := []string{"v1.2.3-" + arch, "1.2.3-" + arch, "1.2-" + arch, "1-" + arch, "latest-" + arch}
		if diff := cmp.Diff(want, p.Tags); diff != "" {
			t.Errorf("%s tags (-want +got):\n%s", arch, diff)
		}
		for _, tag := range p.Tags {
			if d := remoteDigest(t, reg.Repo("hello:"+tag)); d != p.Manifest.Digest.String() {
				t.Errorf("hello:%s names %q, want the %s manifest %s", tag, d, arch, p.Manifest.Digest)
			}
		}
	}
	st := res.Stats
	if st.Uploaded != 6 || st.Existed != 0 || st.Manifests != 3 || st.TagsMoved != 15 {
		t.Errorf("first push: %d uploaded, %d existed, %d manifests, %d tags moved; want 6, 0, 3, 15", st.Uploaded, st.Existed, st.Manifests, st.TagsMoved)
	}
	if n := rec.count(EventBlob); n != 6 {
		t.Errorf("progress got %d blob events, want 6", n)
	}

	// Nothing changed: nothing is uploaded or put again.
	proxy.ResetCounts()
	res = mustPush(t, dir, proxy.Repo("hello"))
	c := proxy.Counts()
	if c.UploadStarts != 0 || c.BlobPatches != 0 || c.Methods[http.MethodPut] != 0 || c.BytesReceived != 0 {
		t.Errorf("repeat push: %d upload starts, %d PATCH, %d PUT, %d bytes received at the registry; want none", c.UploadStarts, c.BlobPatches, c.Methods[http.MethodPut], c.BytesReceived)
	}
	if st := res.Stats; st.Uploaded != 0 || st.Existed != 6 || st.TagsKept != 15 || st.ManifestsExisted != 3 {
		t.Errorf("repeat push stats %+v, want 0 uploaded, 6 existed, 3 manifests there, 15 tags kept", st)
	}
	t.Logf("repeat push: %d requests (%v)", c.Requests, c.Methods)

	// metadata.json names every reference with its digest.
	meta := filepath.Join(t.TempDir(), "dist", "metadata.json")
	if err := WriteMetadata(meta, res); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	var m Metadata
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	mi := m.Images[0]
	if mi.Digest != idx.Digest.String() || mi.Reference != proxy.Repo("hello")+"@"+idx.Digest.String() || len(mi.References) != 5 || len(mi.Platforms) != 2 || mi.Size != idx.Size || mi.TotalSize <= mi.Size {
		t.Errorf("metadata.json = %s", raw)
	}
	for _, p := range mi.Platforms {
		if p.Digest == "" || p.Size <= 0 || p.TotalSize <= p.Size || len(p.Tags) != 5 || !strings.HasPrefix(p.Platform, "linux/") {
			t.Errorf("metadata platform %+v", p)
		}
	}
}

// TestPushOrder checks that tags move last: after every blob is committed
// and every manifest put by digest.
func TestPushOrder(t *testing.T) {
	reg := registrytest.Start(t)
	dir, _ := twoArch(t, "v2.0.0", 2)
	var mu sync.Mutex
	var log []string
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil && resp.StatusCode == http.StatusCreated {
			_, kind, rest := splitAPIPath(r.URL.Path)
			mu.Lock()
			switch {
			case kind == "blobs":
				log = append(log, "blob")
			case kind == "manifests" && strings.HasPrefix(rest, "sha256:"):
				log = append(log, "manifest")
			case kind == "manifests":
				log = append(log, "tag")
			}
			mu.Unlock()
		}
		return resp, err
	})
	mustPush(t, dir, reg.Repo("order"), withTransport(rt))
	rank := map[string]int{"blob": 0, "manifest": 1, "tag": 2}
	for i := 1; i < len(log); i++ {
		if rank[log[i]] < rank[log[i-1]] {
			t.Fatalf("a %s was committed after a %s: %v", log[i], log[i-1], log)
		}
	}
	if got := strings.Count(strings.Join(log, " "), "tag"); got != 15 {
		t.Errorf("%d tags put, want 15: %v", got, log)
	}
}

// TestPushResumes breaks the connection for good after some blobs: the push
// fails, no tag names anything, and the next push sends only what is
// missing.
func TestPushResumes(t *testing.T) {
	reg := registrytest.Start(t)
	dir, idx := twoArch(t, "v1.0.0", 3)
	var mu sync.Mutex
	committed := 0
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		broken := committed >= 3
		mu.Unlock()
		if broken {
			return nil, &netError{syscall.ECONNREFUSED}
		}
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil && r.Method == http.MethodPut && resp.StatusCode == http.StatusCreated {
			mu.Lock()
			committed++
			mu.Unlock()
		}
		return resp, err
	})
	_, err := pushOne(t, dir, reg.Repo("resume"), withTransport(rt), WithJobs(1))
	if err == nil || !errors.Is(err, errNoTagMoved) || !strings.Contains(err.Error(), "no tag was moved") {
		t.Fatalf("broken push: err = %v, want a failure saying no tag was moved", err)
	}
	for _, tag := range []string{"v1.0.0", "latest", "v1.0.0-amd64"} {
		if d := remoteDigest(t, reg.Repo("resume:"+tag)); d != "" {
			t.Errorf("after a failed push, resume:%s names %s", tag, d)
		}
	}
	res := mustPush(t, dir, reg.Repo("resume"))
	if st := res.Stats; st.Existed != 3 || st.Uploaded != 3 {
		t.Errorf("resumed push: %d already there, %d uploaded; want 3 and 3", st.Existed, st.Uploaded)
	}
	if d := remoteDigest(t, reg.Repo("resume:v1.0.0")); d != idx.Digest.String() {
		t.Errorf("resume:v1.0.0 = %q, want %s", d, idx.Digest)
	}
}

// TestPushInterop pulls the pushed image back with crane and skopeo.
func TestPushInterop(t *testing.T) {
	crane := ocitest.NeedTool(t, "crane")
	skopeo := ocitest.NeedTool(t, "skopeo")
	reg := registrytest.Start(t)
	dir, idx := twoArch(t, "v3.1.4", 4)
	res := mustPush(t, dir, reg.Repo("interop"))

	if got := tool(t, crane, "digest", "--insecure", reg.Repo("interop:v3.1.4")); got != idx.Digest.String() {
		t.Errorf("crane digest interop:v3.1.4 = %s, want %s", got, idx.Digest)
	}
	raw := tool(t, crane, "manifest", "--insecure", reg.Repo("interop@"+idx.Digest.String()))
	im, err := v1.ParseIndexManifest(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range im.Manifests {
		p := res.Images[0].Platforms[i]
		if c.Digest != p.Manifest.Digest || platform.String(*c.Platform) != platform.String(p.Platform) {
			t.Errorf("index child %d = %s %s, pushed %s %s", i, platform.String(*c.Platform), c.Digest, platform.String(p.Platform), p.Manifest.Digest)
		}
		tag := "interop:v3.1.4-" + c.Platform.Architecture
		if got := tool(t, crane, "digest", "--insecure", reg.Repo(tag)); got != c.Digest.String() {
			t.Errorf("crane digest %s = %s, want %s", tag, got, c.Digest)
		}
	}
	inspect := tool(t, skopeo, "inspect", "--raw", "--tls-verify=false", "docker://"+reg.Repo("interop:latest"))
	if h, _, _ := v1.SHA256(strings.NewReader(inspect)); h != idx.Digest {
		t.Errorf("skopeo inspect --raw interop:latest hashes to %s, want %s", h, idx.Digest)
	}
	out := filepath.Join(t.TempDir(), "copy")
	tool(t, skopeo, "copy", "--all", "--preserve-digests", "--src-tls-verify=false", "docker://"+reg.Repo("interop:v3.1.4"), "oci:"+out+":v3.1.4")
	copied := layoutIndex(t, out)
	if copied != idx.Digest {
		t.Errorf("skopeo copy --all wrote index %s, want %s", copied, idx.Digest)
	}
	validateCopy(t, out, idx.Digest)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// netError looks like a refused connection.
type netError struct{ errno syscall.Errno }

func (e *netError) Error() string { return "dial tcp: " + e.errno.Error() }
func (e *netError) Unwrap() error { return e.errno }

// layoutIndex is the digest of the one image index index.json names.
func layoutIndex(t testing.TB, dir string) v1.Hash {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	im, err := v1.ParseIndexManifest(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		if d.MediaType.IsIndex() {
			return d.Digest
		}
	}
	t.Fatalf("%s/index.json names no image index: %s", dir, raw)
	return v1.Hash{}
}

// validateCopy checks, with ggcr's validate (every blob re-hashed), the
// index h in the layout an outside tool wrote.
func validateCopy(t testing.TB, dir string, h v1.Hash) {
	t.Helper()
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	ii, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	idx, err := ii.ImageIndex(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Errorf("validate.Index(%s in %s): %v", h, dir, err)
	}
}

// TestPushMounts: a blob shared by two images is uploaded once and mounted
// into the other repository; base-image layers are mounted from the base's
// repository on the same registry.
func TestPushMounts(t *testing.T) {
	reg := registrytest.Start(t)
	proxy := registrytest.NewProxy(t, reg.Host, 1)
	dirA := filepath.Join(t.TempDir(), "a")
	dirB := filepath.Join(t.TempDir(), "b")
	registrytest.WriteLayout(t, dirA, "v1.0.0", 30, 2, 32<<10, "linux/amd64", "linux/arm64")
	registrytest.WriteLayout(t, dirB, "v2.0.0", 30, 2, 32<<10, "linux/amd64", "linux/arm64") // same blobs, other manifests
	res, err := Layouts(t.Context(), []Image{
		{Name: "a", Layout: dirA, Repos: []name.Repository{repo(t, proxy.Repo("a"))}},
		{Name: "b", Layout: dirB, Repos: []name.Repository{repo(t, proxy.Repo("b"))}},
	}, fast()...)
	if err != nil {
		t.Fatal(err)
	}
	if st := res.Stats; st.Uploaded != 6 || st.Mounted != 6 {
		t.Errorf("two images sharing 6 blobs: %d uploaded, %d mounted; want 6 and 6", st.Uploaded, st.Mounted)
	}
	if c := proxy.Counts(); c.BlobsUploaded != 6 || c.Mounts != 6 {
		t.Errorf("at the registry: %d uploads, %d mounts; want 6 and 6", c.BlobsUploaded, c.Mounts)
	}

	// An image built on a.
	dirC := filepath.Join(t.TempDir(), "c")
	registrytest.WriteLayoutAnnotated(t, dirC, "v3.0.0", 30, 2, 32<<10,
		map[string]string{index.BaseName: proxy.Repo("a:v1.0.0")}, "linux/amd64", "linux/arm64")
	res = mustPush(t, dirC, proxy.Repo("c"))
	// Per platform: the first layer is the base's (mounted); the last
	// layer and the config are the image's own.
	if st := res.Stats; st.Mounted != 2 || st.Uploaded != 4 {
		t.Errorf("image on a base: %d mounted, %d uploaded; want 2 and 4", st.Mounted, st.Uploaded)
	}
}
