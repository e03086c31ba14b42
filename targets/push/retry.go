package push

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/rand"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// maxRetryAfter caps how long a Retry-After header makes us wait.
const maxRetryAfter = 30 * time.Second

// policy decides whether and when to try again. One policy serves a whole
// push: the deadline (the retry budget) is shared, and each operation gets
// a fixed number of tries, counted across the requests it makes (retried by
// the transport) and its own reruns, so retries never multiply.
type policy struct {
	attempts  int
	base, max time.Duration
	deadline  time.Time
	now       func() time.Time

	mu   sync.Mutex
	rand *rand.Rand

	retries    atomic.Int64
	observed   func(error) // told of every retry; may be nil
	contacted  atomic.Bool // some operation succeeded: the registry exists
	refusedOut atomic.Bool // an operation gave up on refused connections before any contact
}

// refusedAttempts bounds the tries of an operation whose connections are
// refused before the registry ever answered: a wrong port or a registry
// that is not running, which a few seconds of waiting (for one that is
// still starting) will not mend.
const refusedAttempts = 5

func newPolicy(o *options, now func() time.Time) *policy {
	seed := o.seed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	return &policy{
		attempts: o.attempts,
		base:     o.delay[0],
		max:      o.delay[1],
		deadline: now().Add(o.budget),
		now:      now,
		rand:     rand.New(rand.NewSource(seed)),
	}
}

// tries counts the failed tries of one operation; it travels in the
// context so the transport's retries of the operation's requests count
// too. An operation gives up after attempts failures in a row (a registry
// that is down), or 4×attempts in all (one that keeps failing however
// often it answers).
type tries struct{ inRow, total atomic.Int32 }

// progress records an answer from the registry: the failures in a row
// start over.
func (t *tries) progress() { t.inRow.Store(0) }

type triesKey struct{}

func triesOf(ctx context.Context) *tries {
	if t, ok := ctx.Value(triesKey{}).(*tries); ok {
		return t
	}
	return nil
}

// next records a failed try and returns how long to wait before the next
// one, or false when the operation has used its tries or the wait would end
// past the budget. retryAfter is the server's Retry-After (0: none).
func (p *policy) next(t *tries, retryAfter time.Duration, err error) (time.Duration, bool) {
	n := int(t.inRow.Add(1))
	if n >= p.attempts || int(t.total.Add(1)) >= 4*p.attempts {
		return 0, false
	}
	if !p.contacted.Load() && refused(err) && (n >= refusedAttempts || p.refusedOut.Load()) {
		p.refusedOut.Store(true) // the operations after this one fail at once
		return 0, false
	}
	d := p.max
	if shift := n - 1; shift < 30 && p.base<<shift < p.max {
		d = p.base << shift
	}
	p.mu.Lock()
	d = d/2 + time.Duration(p.rand.Int63n(int64(d/2)+1)) // equal jitter
	p.mu.Unlock()
	if retryAfter > d {
		d = min(retryAfter, maxRetryAfter)
	}
	if p.now().Add(d).After(p.deadline) {
		return 0, false
	}
	p.retries.Add(1)
	if p.observed != nil {
		p.observed(err)
	}
	return d, true
}

// do runs op until it succeeds, fails for good, or runs out of tries or
// budget; it returns op's last error.
func (p *policy) do(ctx context.Context, op func(context.Context) error) error {
	t := triesOf(ctx)
	if t == nil {
		t = &tries{}
		ctx = context.WithValue(ctx, triesKey{}, t)
	}
	renewed := false
	for {
		err := op(ctx)
		if err == nil {
			p.contacted.Store(true)
			return nil
		}
		if !retryable(ctx, err) {
			// A token can expire between its renewal and its use by a
			// request that ggcr already retried once: try the operation
			// once more. Wrong credentials fail again, at once.
			if renewed || !unauthorized(err) || ctx.Err() != nil {
				return err
			}
			renewed = true
		}
		d, ok := p.next(t, 0, err)
		if !ok {
			return err
		}
		if serr := sleep(ctx, d); serr != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryableStatus: 408, 429 and 5xx but 501 (not implemented) and 505.
func retryableStatus(code int) bool {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return true
	case code == http.StatusNotImplemented, code == http.StatusHTTPVersionNotSupported:
		return false
	}
	return code >= 500 && code <= 599
}

// retryableCodes are registry error codes worth another try: the upload
// session was lost or broken in transit (the content is verified locally
// before upload, so a digest mismatch means the bytes were damaged on the
// way), or the registry is busy.
var retryableCodes = map[transport.ErrorCode]bool{
	transport.BlobUploadInvalidErrorCode: true,
	transport.BlobUploadUnknownErrorCode: true,
	transport.DigestInvalidErrorCode:     true,
	transport.TooManyRequestsErrorCode:   true,
	transport.UnavailableErrorCode:       true,
}

// retryable reports whether err is worth another try: a connection that
// failed or broke, a stalled request, or a registry answer that says
// "later". Authentication, permission, TLS and DNS failures are not.
func retryable(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	if errors.Is(err, errStalled) {
		return true
	}
	var te *transport.Error
	if errors.As(err, &te) {
		if retryableStatus(te.StatusCode) {
			return true
		}
		for _, d := range te.Errors {
			if retryableCodes[d.Code] {
				return true
			}
		}
		return false
	}
	var plain *plainHTTPError
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var badCert x509.CertificateInvalidError
	var badHost x509.HostnameError
	var badRecord tls.RecordHeaderError
	switch {
	case errors.As(err, &plain), errors.As(err, &unknownCA), errors.As(err, &badCert),
		errors.As(err, &badHost), errors.As(err, &badRecord):
		return false
	case errors.As(err, &dns):
		return dns.IsTimeout || dns.IsTemporary
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false // not ours: ctx is still live, so a caller gave up on purpose
	}
	for _, e := range []error{io.EOF, io.ErrUnexpectedEOF, net.ErrClosed, syscall.ECONNRESET,
		syscall.ECONNREFUSED, syscall.ECONNABORTED, syscall.EPIPE, syscall.ETIMEDOUT} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "server closed idle connection") || strings.Contains(msg, "malformed HTTP") ||
		strings.Contains(msg, "with Body length") // a spent body sent again: the next try reads it afresh
}

// refused reports a refused connection; ggcr's ping folds its https and
// http errors into one message, so the text counts too.
func refused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(err.Error(), "connection refused")
}

func unauthorized(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusUnauthorized
}
