package push

import (
	"bytes"
	"context"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gantrybuild/gantry/targets/internal/registrytest"
)

// twoArch writes a small two-arch layout (two 64 KiB layers per platform)
// named version and returns its directory and index descriptor.
func twoArch(t testing.TB, version string, seed int64) (string, v1.Descriptor) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "oci", "app")
	d := registrytest.WriteLayout(t, dir, version, seed, 2, 64<<10, "linux/amd64", "linux/arm64")
	return dir, d
}

// fast are the options tests push with: short backoff and idle timeout, a
// reproducible jitter, no credentials from this machine.
func fast(extra ...Option) []Option {
	return append([]Option{
		withBackoff(2*time.Millisecond, 40*time.Millisecond, defaultAttempts),
		withIdleTimeout(2 * time.Second),
		withSeed(1),
		WithKeychain(anonymous{}),
		WithRetryBudget(time.Minute),
	}, extra...)
}

// anonymous is a keychain with no credentials (tests must not read the
// machine's docker config).
type anonymous struct{}

func (anonymous) Resolve(authn.Resource) (authn.Authenticator, error) { return authn.Anonymous, nil }

func repo(t testing.TB, s string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// pushOne pushes the layout at dir to repository r.
func pushOne(t testing.TB, dir, r string, opts ...Option) (*Result, error) {
	t.Helper()
	return Layouts(context.Background(), []Image{{Name: "app", Layout: dir, Repos: []name.Repository{repo(t, r)}}}, fast(opts...)...)
}

func mustPush(t testing.TB, dir, r string, opts ...Option) *Result {
	t.Helper()
	res, err := pushOne(t, dir, r, opts...)
	if err != nil {
		t.Fatalf("push to %s: %v", r, err)
	}
	return res
}

// remoteDigest is the digest ref names in the registry, by ggcr without
// Gantry's transport ("" when it names nothing).
func remoteDigest(t testing.TB, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r)
	if err != nil {
		return ""
	}
	return d.Digest.String()
}

// tool runs an outside client and returns its stdout.
func tool(t testing.TB, bin string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, stderr.Bytes())
	}
	return strings.TrimSpace(stdout.String())
}

// recorder is a Progress that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []Event
	closed bool
}

func (r *recorder) Event(e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) Close() { r.mu.Lock(); r.closed = true; r.mu.Unlock() }

func (r *recorder) count(k EventKind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Kind == k {
			n++
		}
	}
	return n
}

// countingTransport counts requests by method.
type countingTransport struct {
	mu     sync.Mutex
	counts map[string]int
	next   http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[r.Method]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}
