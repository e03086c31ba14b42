package push

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BlobOutcome is how a blob came to be in a repository.
type BlobOutcome int

const (
	BlobUploaded BlobOutcome = iota + 1 // its bytes were sent
	BlobMounted                         // mounted from another repository of the registry
	BlobExisted                         // it was already there
)

func (o BlobOutcome) String() string {
	switch o {
	case BlobUploaded:
		return "uploaded"
	case BlobMounted:
		return "mounted"
	case BlobExisted:
		return "already there"
	}
	return "unknown"
}

// observer watches every request that reaches the wire: it counts requests
// and bytes sent, reports blob bytes as they go, and learns from the
// registry's answers how each blob got into its repository (ggcr's upload
// does not say).
type observer struct {
	next     http.RoundTripper
	progress Progress

	requests atomic.Int64
	sent     atomic.Int64

	mu       sync.Mutex
	outcomes map[string]BlobOutcome // host/repo@digest
	tags     map[string]bool        // host/repo:tag put: true when the registry said so, false when the put was cut off
}

func newObserver(next http.RoundTripper, p Progress) *observer {
	return &observer{next: next, progress: p, outcomes: map[string]BlobOutcome{}, tags: map[string]bool{}}
}

func (o *observer) RoundTrip(req *http.Request) (*http.Response, error) {
	o.requests.Add(1)
	repo, kind, rest := splitAPIPath(req.URL.Path)
	if req.Body != nil && req.Body != http.NoBody {
		r := req.Clone(req.Context())
		c := &countingBody{ReadCloser: req.Body, total: &o.sent}
		if kind == "blobs" {
			c.report = func(n int64) {
				o.progress.Event(Event{Kind: EventSent, Repo: req.URL.Host + "/" + repo, Size: n})
			}
		}
		r.Body = c
		req = r
	}
	resp, err := o.next.RoundTrip(req)
	if kind == "manifests" && req.Method == http.MethodPut && !strings.HasPrefix(rest, "sha256:") {
		o.recordTag(req.URL.Host+"/"+repo+":"+rest, err, resp)
	}
	if err != nil || kind != "blobs" {
		return resp, err
	}
	key := req.URL.Host + "/" + repo + "@"
	switch {
	case req.Method == http.MethodHead && resp.StatusCode == http.StatusOK && strings.HasPrefix(rest, "sha256:"):
		o.record(key+rest, BlobExisted)
	case req.Method == http.MethodPost && resp.StatusCode == http.StatusCreated && req.URL.Query().Get("mount") != "":
		o.record(key+req.URL.Query().Get("mount"), BlobMounted)
	case req.Method == http.MethodPut && resp.StatusCode == http.StatusCreated && req.URL.Query().Get("digest") != "":
		o.record(key+req.URL.Query().Get("digest"), BlobUploaded)
	}
	return resp, nil
}

// recordTag remembers a put of a tag: written when the registry said so;
// when the answer never came (or was a 5xx, which a proxy may send after
// the registry acted), it may have been.
func (o *observer) recordTag(ref string, err error, resp *http.Response) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case err == nil && resp.StatusCode/100 == 2:
		o.tags[ref] = true
	case err != nil || resp.StatusCode >= 500:
		if !o.tags[ref] {
			o.tags[ref] = false
		}
	}
}

// tagsPut lists the tags put so far, sorted; one whose put was cut off
// says so.
func (o *observer) tagsPut() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for ref, ok := range o.tags {
		if ok {
			out = append(out, ref)
		} else {
			out = append(out, ref+" (cut off: it may have landed)")
		}
	}
	slices.Sort(out)
	return out
}

func (o *observer) record(key string, how BlobOutcome) {
	o.mu.Lock()
	o.outcomes[key] = how
	o.mu.Unlock()
}

// outcome returns how blob h got into repo (host/path); BlobExisted when
// no request said (ggcr skipped it: already pushed in this session).
func (o *observer) outcome(repo string, h v1.Hash) BlobOutcome {
	o.mu.Lock()
	defer o.mu.Unlock()
	if how, ok := o.outcomes[repo+"@"+h.String()]; ok {
		return how
	}
	return BlobExisted
}

// splitAPIPath splits /v2/<repo>/<kind>/<rest> (kind: blobs, manifests,
// tags); blob uploads have kind "blobs" and rest "uploads/…".
func splitAPIPath(p string) (repo, kind, rest string) {
	p, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return "", "", ""
	}
	for _, k := range []string{"/blobs/", "/manifests/", "/tags/"} {
		if i := strings.LastIndex(p, k); i > 0 {
			return p[:i], k[1 : len(k)-1], p[i+len(k):]
		}
	}
	return "", "", ""
}

// countingBody counts what the transport reads from a request body.
type countingBody struct {
	io.ReadCloser
	total  *atomic.Int64
	report func(int64)
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	if n > 0 {
		c.total.Add(int64(n))
		if c.report != nil {
			c.report(int64(n))
		}
	}
	return n, err
}
