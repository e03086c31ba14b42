package push

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestRetryable(t *testing.T) {
	status := func(code int, codes ...transport.ErrorCode) error {
		e := &transport.Error{StatusCode: code}
		for _, c := range codes {
			e.Errors = append(e.Errors, transport.Diagnostic{Code: c})
		}
		return fmt.Errorf("putting manifest: %w", e)
	}
	urlErr := func(err error) error { return &url.Error{Op: "Patch", URL: "http://r/v2/x/blobs/uploads/1", Err: err} }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"503", status(503), true},
		{"500", status(500), true},
		{"429", status(429), true},
		{"408", status(408), true},
		{"501 not implemented", status(501), false},
		{"401", status(401, transport.UnauthorizedErrorCode), false},
		{"403", status(403, transport.DeniedErrorCode), false},
		{"404", status(404, transport.ManifestUnknownErrorCode), false},
		{"400 manifest invalid", status(400, transport.ManifestInvalidErrorCode), false},
		{"upload session lost", status(404, transport.BlobUploadUnknownErrorCode), true},
		{"digest damaged in transit", status(400, transport.DigestInvalidErrorCode), true},
		{"connection reset", urlErr(&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), true},
		{"connection refused", urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), true},
		{"broken pipe", urlErr(syscall.EPIPE), true},
		{"unexpected EOF", urlErr(io.ErrUnexpectedEOF), true},
		{"stalled", urlErr(fmt.Errorf("PATCH x: %w for 2m", errStalled)), true},
		{"no such host", urlErr(&net.DNSError{Err: "no such host", Name: "nope.invalid", IsNotFound: true}), false},
		{"unknown CA", urlErr(x509.UnknownAuthorityError{}), false},
		{"plain HTTP refused", urlErr(&plainHTTPError{host: "10.0.0.1:5000"}), false},
		{"spent body replayed", urlErr(errors.New("http: ContentLength=352 with Body length 0")), true},
		{"corrupt blob", urlErr(errors.New("blob sha256:abc is corrupt (content hashes to sha256:def)")), false},
	}
	for _, tt := range tests {
		if got := retryable(context.Background(), tt.err); got != tt.want {
			t.Errorf("%s: retryable(%v) = %t, want %t", tt.name, tt.err, got, tt.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if retryable(ctx, status(503)) {
		t.Error("retryable with a cancelled context")
	}
}

func TestPolicy(t *testing.T) {
	now := time.Unix(0, 0)
	o := &options{attempts: 4, delay: [2]time.Duration{100 * time.Millisecond, 300 * time.Millisecond}, budget: time.Hour, seed: 1}
	p := newPolicy(o, func() time.Time { return now })
	tr := &tries{}
	var waits []time.Duration
	for {
		d, ok := p.next(tr, 0, errors.New("x"))
		if !ok {
			break
		}
		waits = append(waits, d)
	}
	// 3 waits for 4 tries: ~100ms, ~200ms, ~300ms (capped), each with
	// equal jitter (between half and all of it).
	if len(waits) != 3 {
		t.Fatalf("waits = %v, want 3", waits)
	}
	for i, max := range []time.Duration{100, 200, 300} {
		max *= time.Millisecond
		if waits[i] < max/2 || waits[i] > max {
			t.Errorf("wait %d = %s, want between %s and %s", i, waits[i], max/2, max)
		}
	}

	// An answer in between starts the count over, up to 4× attempts in all.
	tr = &tries{}
	n := 0
	for {
		if _, ok := p.next(tr, 0, errors.New("x")); !ok {
			break
		}
		n++
		tr.progress()
	}
	if n != 15 {
		t.Errorf("with progress between failures, %d retries; want 4×4-1", n)
	}

	// Retry-After wins when longer; nothing is retried past the budget.
	if d, ok := p.next(&tries{}, 2*time.Second, errors.New("x")); !ok || d != 2*time.Second {
		t.Errorf("Retry-After 2s: wait %s, %t", d, ok)
	}
	o.budget = time.Second
	p = newPolicy(o, func() time.Time { return now })
	if _, ok := p.next(&tries{}, 2*time.Second, errors.New("x")); ok {
		t.Error("a retry after 2s was allowed with a budget of 1s")
	}
}

func TestRetryAfter(t *testing.T) {
	if d := retryAfter("3"); d != 3*time.Second {
		t.Errorf(`retryAfter("3") = %s`, d)
	}
	if d := retryAfter(time.Now().Add(time.Minute).UTC().Format(http.TimeFormat)); d < 55*time.Second || d > time.Minute {
		t.Errorf("retryAfter(date in a minute) = %s", d)
	}
	if d := retryAfter("soon"); d != 0 {
		t.Errorf(`retryAfter("soon") = %s`, d)
	}
}
