// Package keyless signs with an ephemeral key certified for the CI job's
// OIDC identity by Fulcio, and proves when it signed with an RFC 3161
// timestamp and a Rekor v2 entry, all in-process with sigstore-go. Its
// Signer is a sign.Certified: package sign writes both signature formats
// with it (docs/keyless.md).
package keyless

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/gantrybuild/gantry/targets/sign"
)

// Options configure a keyless Signer.
type Options struct {
	Services Services
	Token    TokenSource
	// HTTP is the client for Fulcio's trust bundle; default a 30 s timeout.
	HTTP *http.Client
}

var _ sign.Certified = (*Signer)(nil)

// Signer signs with an ephemeral ECDSA P-256 key, made when the Signer is
// and held in memory only, and certified by Fulcio on first use for
// the identity in the token.
type Signer struct {
	opts Options
	kp   *sgsign.EphemeralKeypair

	mu    sync.Mutex
	leaf  *x509.Certificate
	chain []*x509.Certificate
}

// New makes a Signer with a new ephemeral key. It contacts nothing: the
// token and the certificate are fetched on first use.
func New(opts Options) (*Signer, error) {
	if err := opts.Services.Validate(); err != nil {
		return nil, err
	}
	kp, err := sgsign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, fmt.Errorf("making the ephemeral key: %w", err)
	}
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	return &Signer{opts: opts, kp: kp}, nil
}

func (s *Signer) PublicKey() crypto.PublicKey { return s.kp.GetPublicKey() }
func (s *Signer) HashFunc() crypto.Hash       { return crypto.SHA256 }

func (s *Signer) Sign(ctx context.Context, message []byte) ([]byte, error) {
	sig, _, err := s.kp.SignData(ctx, message)
	return sig, err
}

// String names the signer for messages.
func (s *Signer) String() string { return "keyless (Fulcio " + s.opts.Services.Fulcio + ")" }

// Certificate returns the Fulcio certificate for the ephemeral key and its
// CA chain, fetched once. Fulcio certificates are valid for ten minutes;
// signatures made later stay verifiable because each is timestamped, and
// a run that outlives the certificate fetches a new one.
func (s *Signer) Certificate(ctx context.Context) (*x509.Certificate, []*x509.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leaf != nil && time.Now().Add(30*time.Second).Before(s.leaf.NotAfter) {
		return s.leaf, s.chain, nil
	}
	tok, err := s.opts.Token.Token(ctx)
	if err != nil {
		return nil, nil, err
	}
	f := sgsign.NewFulcio(&sgsign.FulcioOptions{BaseURL: s.opts.Services.Fulcio, Retries: 2, Transport: s.opts.HTTP.Transport})
	der, err := f.GetCertificate(ctx, s.kp, &sgsign.CertificateProviderOptions{IDToken: tok})
	if err != nil {
		return nil, nil, fmt.Errorf("getting a signing certificate from Fulcio at %s: %w", s.opts.Services.Fulcio, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("Fulcio's certificate: %w", err)
	}
	chain, err := s.caChain(ctx, leaf)
	if err != nil {
		return nil, nil, err
	}
	s.leaf, s.chain = leaf, chain
	return leaf, chain, nil
}

// caChain finds, in Fulcio's trust bundle, the chain that issued leaf.
func (s *Signer) caChain(ctx context.Context, leaf *x509.Certificate) ([]*x509.Certificate, error) {
	u := strings.TrimSuffix(s.opts.Services.Fulcio, "/") + "/api/v2/trustBundle"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.opts.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading Fulcio's CA chain: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("reading Fulcio's CA chain: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading Fulcio's CA chain: GET %s: %s", u, resp.Status)
	}
	var bundle struct {
		Chains []struct {
			Certificates []string `json:"certificates"`
		} `json:"chains"`
	}
	if err := json.Unmarshal(body, &bundle); err != nil {
		return nil, fmt.Errorf("reading Fulcio's CA chain: %w", err)
	}
	for _, c := range bundle.Chains {
		var chain []*x509.Certificate
		for _, p := range c.Certificates {
			b, _ := pem.Decode([]byte(p))
			if b == nil {
				continue
			}
			cert, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("Fulcio's CA chain: %w", err)
			}
			chain = append(chain, cert)
		}
		if len(chain) > 0 && leaf.CheckSignatureFrom(chain[0]) == nil {
			return chain, nil
		}
	}
	return nil, errors.New("Fulcio's trust bundle holds no chain for the certificate it issued")
}

// BundleOptions are sigstore-go's bundle options: the certificate, the
// Rekor v2 log (when configured) and the timestamp authority.
func (s *Signer) BundleOptions(ctx context.Context) (sgsign.BundleOptions, error) {
	leaf, _, err := s.Certificate(ctx)
	if err != nil {
		return sgsign.BundleOptions{}, err
	}
	opts := sgsign.BundleOptions{
		Context:             ctx,
		CertificateProvider: fixedCertificate(leaf.Raw),
	}
	if u := s.opts.Services.TSA; u != "" {
		opts.TimestampAuthorities = []*sgsign.TimestampAuthority{s.tsa()}
	}
	if u := s.opts.Services.Rekor; u != "" {
		opts.TransparencyLogs = []sgsign.Transparency{sgsign.NewRekor(&sgsign.RekorOptions{BaseURL: u, Version: rekorV2, Retries: 2})}
	}
	return opts, nil
}

// Timestamp returns the timestamp authority's RFC 3161 timestamp over data.
func (s *Signer) Timestamp(ctx context.Context, data []byte) ([]byte, error) {
	if s.opts.Services.TSA == "" {
		return nil, nil
	}
	ts, err := s.tsa().GetTimestamp(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("timestamping at %s: %w", s.opts.Services.TSA, err)
	}
	return ts, nil
}

func (s *Signer) tsa() *sgsign.TimestampAuthority {
	return sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{URL: s.opts.Services.TSA, Retries: 2, Transport: s.opts.HTTP.Transport})
}

// fixedCertificate hands sigstore-go the certificate already fetched, so
// every bundle of a run carries the same one.
type fixedCertificate []byte

func (c fixedCertificate) GetCertificate(context.Context, sgsign.Keypair, *sgsign.CertificateProviderOptions) ([]byte, error) {
	return c, nil
}
