package registrytest

import (
	"io"
	"log"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Faults is what a Proxy does wrong. Shares are of requests (Reset: of blob
// uploads), drawn from a seeded generator.
type Faults struct {
	Status5xx  float64       // answered 500, 502, 503 or 504 without reaching the registry
	Status429  float64       // answered 429 without reaching the registry
	RetryAfter string        // Retry-After on 429 and 503 ("": none)
	Reset      float64       // blob uploads (PATCH) whose connection is reset halfway through the body
	Stall      float64       // held for StallFor before being forwarded
	StallFor   time.Duration //
	Down       bool          // every request answered 503
}

// Counts is what reached the proxy.
type Counts struct {
	Requests      int            // every request, faulty ones included
	Methods       map[string]int // by method
	UploadStarts  int            // POST …/blobs/uploads/ (without a mount that succeeded)
	BlobPatches   int            // PATCH …/blobs/uploads/…
	BlobsUploaded int            // uploads committed (PUT …?digest= answered 201)
	Mounts        int            // POST …?mount= answered 201
	BytesReceived int64          // request body bytes read from clients
	Injected      int            // faults injected
	TokensIssued  int
}

// Proxy is a reverse proxy in front of a registry that injects faults and
// counts requests. With Tokens set it also does bearer token auth itself.
type Proxy struct {
	Host string // 127.0.0.1:port

	srv    *httptest.Server
	target *url.URL
	rp     *httputil.ReverseProxy

	mu     sync.Mutex
	faults Faults
	rng    *rand.Rand
	counts Counts
	tokens *tokenAuth
	quit   chan struct{} // closed first on Close: stalls end
	once   sync.Once
}

// NewProxy starts a proxy to the registry at host (host:port), closed when
// the test ends. seed makes the faults reproducible.
func NewProxy(t testing.TB, host string, seed int64) *Proxy {
	t.Helper()
	target := &url.URL{Scheme: "http", Host: host}
	p := &Proxy{target: target, rng: rand.New(rand.NewSource(seed)), quit: make(chan struct{})}
	p.counts.Methods = map[string]int{}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
			if p.tokenAuth() != nil {
				r.Out.Header.Del("Authorization")
			}
		},
		ModifyResponse: p.observe,
		ErrorLog:       log.New(io.Discard, "", 0),
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.Host = strings.TrimPrefix(p.srv.URL, "http://")
	t.Cleanup(p.Close)
	return p
}

// SetFaults replaces the faults.
func (p *Proxy) SetFaults(f Faults) {
	p.mu.Lock()
	p.faults = f
	p.mu.Unlock()
}

// Counts returns what reached the proxy so far.
func (p *Proxy) Counts() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.counts
	c.Methods = map[string]int{}
	for k, v := range p.counts.Methods {
		c.Methods[k] = v
	}
	return c
}

// ResetCounts zeroes the counts.
func (p *Proxy) ResetCounts() {
	p.mu.Lock()
	p.counts = Counts{Methods: map[string]int{}}
	p.mu.Unlock()
}

// Repo returns "<proxy host>/<name>".
func (p *Proxy) Repo(name string) string { return p.Host + "/" + name }

// Close stops the proxy: the registry becomes unreachable through it.
func (p *Proxy) Close() {
	p.once.Do(func() {
		close(p.quit)
		p.srv.CloseClientConnections()
		p.srv.Close()
	})
}

type fault int

const (
	none fault = iota
	status5xx
	status429
	reset
	stall
	down
)

// decide draws the fault for one request.
func (p *Proxy) decide(r *http.Request) (fault, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts.Requests++
	p.counts.Methods[r.Method]++
	f := p.faults
	if f.Down {
		p.counts.Injected++
		return down, http.StatusServiceUnavailable
	}
	x := p.rng.Float64()
	code := []int{500, 502, 503, 504}[p.rng.Intn(4)]
	blobData := r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/blobs/uploads/")
	switch {
	case x < f.Status5xx:
		p.counts.Injected++
		return status5xx, code
	case x < f.Status5xx+f.Status429:
		p.counts.Injected++
		return status429, http.StatusTooManyRequests
	}
	if blobData && p.rng.Float64() < f.Reset {
		p.counts.Injected++
		return reset, 0
	}
	if p.rng.Float64() < f.Stall {
		p.counts.Injected++
		return stall, 0
	}
	return none, 0
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	if r.Body != nil {
		r.Body = &countingReader{ReadCloser: r.Body, p: p}
	}
	f, code := p.decide(r)
	switch f {
	case down, status5xx, status429:
		io.Copy(io.Discard, r.Body)
		p.mu.Lock()
		if ra := p.faults.RetryAfter; ra != "" && (code == 429 || code == 503) {
			w.Header().Set("Retry-After", ra)
		}
		p.mu.Unlock()
		http.Error(w, http.StatusText(code), code)
		return
	case reset:
		half := r.ContentLength / 2
		if half <= 0 {
			half = 1024
		}
		io.CopyN(io.Discard, r.Body, half)
		resetConn(w)
		return
	case stall:
		p.mu.Lock()
		d := p.faults.StallFor
		p.mu.Unlock()
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		case <-p.quit:
			return
		}
	}
	if p.tokenAuth() != nil && !p.authorize(w, r) {
		return
	}
	p.rp.ServeHTTP(w, r)
}

// resetConn closes the client's connection with a TCP reset.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// observe counts the registry's answers that matter to tests.
func (p *Proxy) observe(resp *http.Response) error {
	r := resp.Request
	upload := strings.Contains(r.URL.Path, "/blobs/uploads/")
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case upload && r.Method == http.MethodPost && resp.StatusCode == http.StatusCreated && r.URL.Query().Get("mount") != "":
		p.counts.Mounts++
	case upload && r.Method == http.MethodPost:
		p.counts.UploadStarts++
	case upload && r.Method == http.MethodPatch:
		p.counts.BlobPatches++
	case upload && r.Method == http.MethodPut && resp.StatusCode == http.StatusCreated:
		p.counts.BlobsUploaded++
	}
	return nil
}

type countingReader struct {
	io.ReadCloser
	p *Proxy
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.ReadCloser.Read(b)
	c.p.mu.Lock()
	c.p.counts.BytesReceived += int64(n)
	c.p.mu.Unlock()
	return n, err
}
