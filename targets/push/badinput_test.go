package push

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/gantrybuild/gantry/targets/internal/registrytest"
	"github.com/gantrybuild/gantry/targets/ocidir"
)

// wantError checks err is one line containing every want.
func wantError(t testing.TB, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("push succeeded, want an error containing %q", want)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans lines: %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not contain %q", msg, w)
		}
	}
}

func TestPushBadLayouts(t *testing.T) {
	reg := registrytest.Start(t)
	proxy := registrytest.NewProxy(t, reg.Host, 1)

	t.Run("missing layout", func(t *testing.T) {
		_, err := pushOne(t, filepath.Join(t.TempDir(), "nothing"), proxy.Repo("x"))
		wantError(t, err, "no OCI image layout at", "run release (or layout, then index) first")
	})
	t.Run("layout without index", func(t *testing.T) {
		dir, _ := twoArch(t, "v1.0.0", 11)
		store, err := ocidir.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		ij, err := store.IndexJSON()
		if err != nil {
			t.Fatal(err)
		}
		if err := store.WriteIndexJSON(ij.Manifests[1:]); err != nil { // drop the index
			t.Fatal(err)
		}
		_, err = pushOne(t, dir, proxy.Repo("x"))
		wantError(t, err, "holds no image index", "run index (or release) first")
	})
	t.Run("corrupt blob", func(t *testing.T) {
		dir, _ := twoArch(t, "v1.0.0", 12)
		res := corruptLargestBlob(t, dir)
		proxy.ResetCounts()
		_, err := pushOne(t, dir, proxy.Repo("corrupt"))
		wantError(t, err, "is corrupt", res, "nothing was pushed")
		if c := proxy.Counts(); c.Requests != 0 {
			t.Errorf("the registry got %d requests; a corrupt layout must fail before any", c.Requests)
		}
	})
}

// corruptLargestBlob flips a byte of the largest blob and returns its name.
func corruptLargestBlob(t testing.TB, dir string) string {
	t.Helper()
	blobs := filepath.Join(dir, "blobs", "sha256")
	entries, err := os.ReadDir(blobs)
	if err != nil {
		t.Fatal(err)
	}
	var biggest string
	var size int64
	for _, e := range entries {
		fi, _ := e.Info()
		if fi.Size() > size {
			biggest, size = e.Name(), fi.Size()
		}
	}
	p := filepath.Join(blobs, biggest)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return biggest
}

// TestPushImmutableTags: a version tag that names other content fails the
// push before anything is uploaded; without immutable tags it moves.
func TestPushImmutableTags(t *testing.T) {
	reg := registrytest.Start(t)
	proxy := registrytest.NewProxy(t, reg.Host, 1)
	first, idx1 := twoArch(t, "v1.0.0", 13)
	second, idx2 := twoArch(t, "v1.0.0", 14) // same version, other content
	mustPush(t, first, proxy.Repo("imm"), WithImmutableTags())

	proxy.ResetCounts()
	_, err := pushOne(t, second, proxy.Repo("imm"), WithImmutableTags())
	wantError(t, err, "immutable", "v1.0.0 names "+idx1.Digest.String(), "no tag was moved")
	if c := proxy.Counts(); c.UploadStarts+c.BlobPatches+c.Methods[http.MethodPut] != 0 {
		t.Errorf("a refused push uploaded: %+v", c)
	}
	if d := remoteDigest(t, reg.Repo("imm:v1.0.0")); d != idx1.Digest.String() {
		t.Errorf("imm:v1.0.0 = %s after a refused push, want %s", d, idx1.Digest)
	}

	mustPush(t, second, proxy.Repo("imm"))
	if d := remoteDigest(t, reg.Repo("imm:v1.0.0")); d != idx2.Digest.String() {
		t.Errorf("imm:v1.0.0 = %s after a mutable push, want %s", d, idx2.Digest)
	}

	// Floating tags move under immutable tags: v1.1.0 takes 1, latest.
	third, idx3 := twoArch(t, "v1.1.0", 15)
	mustPush(t, third, proxy.Repo("imm"), WithImmutableTags())
	for _, tag := range []string{"1", "latest", "latest-arm64"} {
		if d := remoteDigest(t, reg.Repo("imm:"+tag)); d == idx2.Digest.String() || d == "" {
			t.Errorf("imm:%s = %q, want it moved to v1.1.0 (index %s)", tag, d, idx3.Digest)
		}
	}
	// An older patch release does not take latest or 1 back.
	older, _ := twoArch(t, "v1.0.1", 16)
	mustPush(t, older, proxy.Repo("imm"))
	if d := remoteDigest(t, reg.Repo("imm:latest")); d != idx3.Digest.String() {
		t.Errorf("imm:latest = %s after pushing v1.0.1, want v1.1.0's %s", d, idx3.Digest)
	}
}

// TestPushPlainHTTPGuard: plain HTTP only to loopback or listed registries.
func TestPushPlainHTTPGuard(t *testing.T) {
	dir, _ := twoArch(t, "v1.0.0", 17)
	var mu sync.Mutex
	var schemes []string
	refuse := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		schemes = append(schemes, r.URL.Scheme)
		mu.Unlock()
		return nil, &netError{syscall.ECONNREFUSED}
	})
	_, err := pushOne(t, dir, "10.1.2.3:5000/app", withTransport(refuse), withBackoff(0, 0, 1))
	if err == nil {
		t.Fatal("push succeeded")
	}
	for _, s := range schemes {
		if s != "https" {
			t.Fatalf("a %s request reached the network for a private registry not listed as insecure (error: %v)", s, err)
		}
	}
	var plain *plainHTTPError
	if !errors.As(err, &plain) && !strings.Contains(err.Error(), "refusing plain HTTP") {
		t.Logf("error: %v", err)
	}

	schemes = nil
	_, _ = pushOne(t, dir, "10.1.2.3:5000/app", withTransport(refuse), withBackoff(0, 0, 1), WithInsecure("10.1.2.3:5000"))
	sawHTTP := false
	for _, s := range schemes {
		sawHTTP = sawHTTP || s == "http"
	}
	if !sawHTTP {
		t.Errorf("with the registry listed as insecure, no plain HTTP request was tried (%v)", schemes)
	}
}
