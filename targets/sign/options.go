package sign

import (
	"crypto"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Formats selects the signature formats sign writes and verify requires.
type Formats uint8

const (
	// Bundle is a sigstore bundle v0.3 (DSSE envelope over an in-toto
	// statement) attached as an OCI 1.1 referrer, with the referrers tag
	// fallback: what cosign v3 writes and reads first.
	Bundle Formats = 1 << iota
	// Legacy is the sha256-<hex>.sig signature manifest with a
	// simple-signing payload: what cosign v2 writes and every cosign reads.
	Legacy

	// Both is the default: every verifier in the field finds a signature.
	Both = Bundle | Legacy
)

// ParseFormats reads the configuration's spelling: both (or ""), bundle or
// legacy.
func ParseFormats(s string) (Formats, error) {
	switch strings.TrimSpace(s) {
	case "", "both":
		return Both, nil
	case "bundle":
		return Bundle, nil
	case "legacy":
		return Legacy, nil
	}
	return 0, fmt.Errorf("signature format %q is unknown: use both (default), bundle or legacy (GANTRY_SIGN_FORMAT)", s)
}

func (f Formats) String() string {
	switch f {
	case Both:
		return "both"
	case Bundle:
		return "bundle"
	case Legacy:
		return "legacy"
	}
	return fmt.Sprintf("Formats(%d)", uint8(f))
}

// Option configures Layout, VerifyLayout and VerifyRemote.
type Option func(*options) error

type options struct {
	formats  Formats
	keyless  *Identity
	identity string
	log      io.Writer
	remote   []remote.Option
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{formats: Both, log: io.Discard}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithFormats selects the formats to write or require (default Both).
func WithFormats(f Formats) Option {
	return func(o *options) error {
		if f&Both == 0 || f&^Both != 0 {
			return fmt.Errorf("signature formats %d: choose Bundle, Legacy or Both", f)
		}
		o.formats = f
		return nil
	}
}

// WithIdentity sets the repository a legacy payload claims
// (critical.identity.docker-reference), e.g. ghcr.io/org/app; default: the
// layout directory's name. cosign does not check it.
func WithIdentity(repo string) Option {
	return func(o *options) error {
		o.identity = repo
		return nil
	}
}

// WithLog sets where progress lines go (default: nowhere).
func WithLog(w io.Writer) Option {
	return func(o *options) error {
		if w != nil {
			o.log = w
		}
		return nil
	}
}

// WithRemoteOptions passes ggcr options (auth, transport) to VerifyRemote.
func WithRemoteOptions(opts ...remote.Option) Option {
	return func(o *options) error {
		o.remote = append(o.remote, opts...)
		return nil
	}
}

// WithKeyless makes VerifyLayout and VerifyRemote check keyless signatures
// against id (certificate identity, OIDC issuer, trusted root) instead of
// a public key.
func WithKeyless(id Identity) Option {
	return func(o *options) error {
		if _, err := newIdentityTrust(id); err != nil {
			return err
		}
		o.keyless = &id
		return nil
	}
}

// trust is what verification accepts: the keyless policy, else pub's
// signatures.
func (o *options) trust(pub crypto.PublicKey) (trust, error) {
	if o.keyless != nil {
		return newIdentityTrust(*o.keyless)
	}
	if pub == nil {
		return nil, errors.New("no public key or keyless identity to verify with")
	}
	verifiers, err := verifiersFor(pub)
	if err != nil {
		return nil, err
	}
	return keyTrust(verifiers), nil
}
