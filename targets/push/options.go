package push

import (
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// Defaults.
const (
	DefaultJobs        = 4
	DefaultRetryBudget = 10 * time.Minute
	defaultIdleTimeout = 2 * time.Minute // no byte sent or received for this long: the request has stalled
	defaultAttempts    = 10              // tries per operation, across request and operation retries
	defaultBaseDelay   = 250 * time.Millisecond
	defaultMaxDelay    = 5 * time.Second
)

// Option configures a push.
type Option func(*options) error

type options struct {
	keychain  authn.Keychain
	username  string
	password  string
	semver    Semver
	arch      ArchScheme
	extra     []string
	immutable bool
	revision  string          // the work tree's HEAD; "" : not checked
	stale     bool            // push a layout built from another commit all the same
	insecure  map[string]bool // registry host[:port] → plain HTTP allowed
	jobs      int
	budget    time.Duration
	progress  Progress

	// Test seams.
	base     http.RoundTripper // innermost transport
	idle     time.Duration
	attempts int
	delay    [2]time.Duration // base and maximum backoff
	seed     int64            // jitter; 0: time-seeded
}

func makeOptions(opts ...Option) (*options, error) {
	o := &options{
		keychain: authn.DefaultKeychain,
		semver:   SemverAll,
		insecure: map[string]bool{},
		jobs:     DefaultJobs,
		budget:   DefaultRetryBudget,
		progress: Quiet(),
		idle:     defaultIdleTimeout,
		attempts: defaultAttempts,
		delay:    [2]time.Duration{defaultBaseDelay, defaultMaxDelay},
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if o.base == nil {
		o.base = newBaseTransport()
	}
	return o, nil
}

// WithKeychain sets where credentials come from (default: ggcr's
// authn.DefaultKeychain: Docker's config.json and credential helpers).
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) error { o.keychain = k; return nil }
}

// WithCredentials sets a user name and password (or token) for every
// destination registry, tried before the keychain; for CI.
func WithCredentials(username, password string) Option {
	return func(o *options) error {
		if username == "" || password == "" {
			return fmt.Errorf("credentials need both a user name and a password")
		}
		o.username, o.password = username, password
		return nil
	}
}

// WithSemver selects the tags a release version adds (default SemverAll).
func WithSemver(s Semver) Option {
	return func(o *options) error { o.semver = s; return nil }
}

// WithArchTags sets the per-platform tag scheme (default: the go names).
func WithArchTags(a ArchScheme) Option {
	return func(o *options) error { o.arch = a; return nil }
}

// WithTags adds tags every pushed index gets, besides the version's.
func WithTags(tags ...string) Option {
	return func(o *options) error {
		for _, t := range tags {
			if !validTag(t) {
				return fmt.Errorf("tag %q is not a valid image tag: use letters, digits, '_', '.', '-' (at most %d, not starting with '.' or '-')", t, maxTagLen)
			}
		}
		o.extra = append(o.extra, tags...)
		return nil
	}
}

// WithImmutableTags makes a push fail, before it uploads anything, when a
// tag that names one version (the version tag, X.Y.Z, extra tags and their
// per-platform tags) already names other content. X.Y, X and latest move.
func WithImmutableTags() Option {
	return func(o *options) error { o.immutable = true; return nil }
}

// WithInsecure lets these registries (host[:port]) be reached over plain
// HTTP. Loopback addresses always may; no other registry ever is.
func WithInsecure(registries ...string) Option {
	return func(o *options) error {
		for _, r := range registries {
			reg, err := name.NewRegistry(r, name.StrictValidation)
			if err != nil {
				return fmt.Errorf("insecure registry %q: %w", r, err)
			}
			o.insecure[reg.RegistryStr()] = true
		}
		return nil
	}
}

// WithRevision is the commit the work tree is at (its HEAD): push refuses,
// before sending anything, a layout whose index was built from another
// commit (annotation org.opencontainers.image.revision), unless WithStale.
func WithRevision(rev string) Option {
	return func(o *options) error { o.revision = rev; return nil }
}

// WithStale lets WithRevision's check pass a layout built from another
// commit: pushing an older build on purpose is legitimate. Result says
// which commit each image was built from.
func WithStale() Option {
	return func(o *options) error { o.stale = true; return nil }
}

// WithJobs bounds how many uploads run at once (default DefaultJobs).
func WithJobs(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("jobs must be at least 1, not %d", n)
		}
		o.jobs = n
		return nil
	}
}

// WithRetryBudget sets how long after the push began a retry may still
// start (default DefaultRetryBudget). Each operation is also tried at most
// a fixed number of times, so a registry that stays down fails the push
// well before the budget runs out.
func WithRetryBudget(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("retry budget must be positive, not %s", d)
		}
		o.budget = d
		return nil
	}
}

// WithProgress sets what reports progress (default Quiet()).
func WithProgress(p Progress) Option {
	return func(o *options) error {
		if p == nil {
			p = Quiet()
		}
		o.progress = p
		return nil
	}
}

// withTransport replaces the innermost transport (tests count or break
// requests there).
func withTransport(rt http.RoundTripper) Option {
	return func(o *options) error { o.base = rt; return nil }
}

// withBackoff sets the backoff's first and longest wait and the tries per
// operation (tests use short waits).
func withBackoff(base, max time.Duration, attempts int) Option {
	return func(o *options) error {
		o.delay, o.attempts = [2]time.Duration{base, max}, attempts
		return nil
	}
}

// withIdleTimeout sets how long a request may make no progress.
func withIdleTimeout(d time.Duration) Option {
	return func(o *options) error { o.idle = d; return nil }
}

// withSeed makes the backoff jitter reproducible.
func withSeed(seed int64) Option {
	return func(o *options) error { o.seed = seed; return nil }
}
