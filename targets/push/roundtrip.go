package push

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The transport under ggcr's authentication, outermost first:
// retrying → observer → idleTimeout → schemeGuard → base.

func newBaseTransport() http.RoundTripper {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   50,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// retrying retries requests that can be replayed when the connection fails
// or the registry answers 408, 429 or 5xx, honouring Retry-After. A blob
// chunk (PATCH, or an upload with a body) is never replayed here: the
// registry may have kept part of it, so the whole upload is redone instead.
//
// ggcr's bearer transport answers a 401 (an expired token) by renewing the
// token and sending the same request again, whose body is spent by then; a
// request seen before with a 401 is therefore sent with a fresh body (the
// registry refused it, so it kept none of it).
type retrying struct {
	next   http.RoundTripper
	policy *policy
	denied sync.Map // *http.Request answered 401, which may come back
}

func (t *retrying) RoundTrip(req *http.Request) (*http.Response, error) {
	if _, again := t.denied.LoadAndDelete(req); again && req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
		r, err := rewind(req)
		if err != nil {
			return nil, err
		}
		resp, err := t.roundTrip(r)
		t.remember(req, resp)
		return resp, err
	}
	resp, err := t.roundTrip(req)
	t.remember(req, resp)
	return resp, err
}

func (t *retrying) remember(req *http.Request, resp *http.Response) {
	if resp != nil && resp.StatusCode == http.StatusUnauthorized {
		t.denied.Store(req, struct{}{})
	}
}

func (t *retrying) roundTrip(req *http.Request) (*http.Response, error) {
	tr := triesOf(req.Context())
	if tr == nil {
		tr = &tries{}
	}
	if !replayable(req) {
		resp, err := t.next.RoundTrip(req)
		if err == nil && !retryableStatus(resp.StatusCode) {
			tr.progress()
		}
		return resp, err
	}
	r := req
	for {
		resp, err := t.next.RoundTrip(r)
		var after time.Duration
		switch {
		case err != nil:
			if !retryable(req.Context(), err) {
				return nil, err
			}
		case retryableStatus(resp.StatusCode):
			after = retryAfter(resp.Header.Get("Retry-After"))
		default:
			tr.progress()
			return resp, nil
		}
		failure := err
		if failure == nil {
			failure = fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, resp.Status)
		}
		d, ok := t.policy.next(tr, after, failure)
		if !ok {
			return resp, err
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if err := sleep(req.Context(), d); err != nil {
			return nil, err
		}
		if r, err = rewind(req); err != nil {
			return nil, err
		}
	}
}

// replayable: any request without a body, or with one it can get again,
// except blob data.
func replayable(req *http.Request) bool {
	if req.Method == http.MethodPatch {
		return false
	}
	hasBody := req.Body != nil && req.Body != http.NoBody
	if !hasBody {
		return true
	}
	return req.GetBody != nil && !strings.Contains(req.URL.Path, "/blobs/uploads/")
}

// rewind returns a copy of req with a fresh body.
func rewind(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return r, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r.Body = body
	return r, nil
}

// retryAfter parses Retry-After: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

// errStalled marks a request that made no progress for the idle timeout.
var errStalled = errors.New("no progress")

// idleTimeout cancels a request when neither its body nor its response's
// moves for d: a registry or proxy that stops reading or answering. A
// request that keeps moving may take as long as it needs.
type idleTimeout struct {
	next http.RoundTripper
	d    time.Duration
}

func (t *idleTimeout) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	w := &watch{cancel: cancel}
	w.timer = time.AfterFunc(t.d, func() { cancel(errStalled) })
	r := req.WithContext(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		r.Body = &watchedBody{ReadCloser: req.Body, w: w, d: t.d}
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		w.stop()
		if errors.Is(context.Cause(ctx), errStalled) {
			return nil, fmt.Errorf("%s %s: %w for %s", req.Method, req.URL.Redacted(), errStalled, t.d)
		}
		return nil, err
	}
	w.timer.Reset(t.d)
	resp.Body = &watchedBody{ReadCloser: resp.Body, w: w, d: t.d, ctx: ctx, closes: true}
	return resp, nil
}

type watch struct {
	mu     sync.Mutex
	timer  *time.Timer
	cancel context.CancelCauseFunc
	done   bool
}

func (w *watch) touch(d time.Duration) {
	w.mu.Lock()
	if !w.done {
		w.timer.Reset(d)
	}
	w.mu.Unlock()
}

func (w *watch) stop() {
	w.mu.Lock()
	w.done = true
	w.timer.Stop()
	w.mu.Unlock()
	w.cancel(nil)
}

// watchedBody resets the watch on every read; a response body stops it on
// Close and reports a stall as errStalled.
type watchedBody struct {
	io.ReadCloser
	w      *watch
	d      time.Duration
	ctx    context.Context
	closes bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.w.touch(b.d)
	}
	if err != nil && err != io.EOF && b.ctx != nil && errors.Is(context.Cause(b.ctx), errStalled) {
		err = fmt.Errorf("reading response: %w for %s", errStalled, b.d)
	}
	return n, err
}

func (b *watchedBody) Close() error {
	err := b.ReadCloser.Close()
	if b.closes {
		b.w.stop()
	}
	return err
}

// plainHTTPError refuses plain HTTP to a registry that is neither loopback
// nor listed as insecure.
type plainHTTPError struct{ host string }

func (e *plainHTTPError) Error() string {
	return fmt.Sprintf("refusing plain HTTP to registry %s: only loopback registries and those listed in GANTRY_INSECURE_REGISTRIES may be reached without TLS", e.host)
}

// schemeGuard enforces plainHTTPError (ggcr itself would also use plain
// HTTP for any private address).
type schemeGuard struct {
	next     http.RoundTripper
	insecure map[string]bool
}

func (t *schemeGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !isLoopback(req.URL.Hostname()) && !t.insecure[req.URL.Host] {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, &plainHTTPError{host: req.URL.Host}
	}
	return t.next.RoundTrip(req)
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
