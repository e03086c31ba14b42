package sign

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
)

// trust decides whose signatures count: a key's (key-based signing), an
// identity's under a trusted root (keyless verification), or, while
// signing keyless, the signer's own identity.
type trust interface {
	// bundle checks b's signature over its content about manifest h.
	bundle(b *sgbundle.Bundle, h v1.Hash) error
	// layer checks a legacy layer's signature sig over signed; ann are the
	// layer's annotations, stamped is what its timestamp covers.
	layer(ann map[string]string, signed, sig, stamped []byte) error
}

// keyTrust accepts signatures by one key, offline: no transparency log,
// no timestamps.
type keyTrust []signature.Verifier

func (k keyTrust) bundle(b *sgbundle.Bundle, h v1.Hash) error {
	digest, err := hex.DecodeString(h.Hex)
	if err != nil {
		return err
	}
	policy := verify.NewPolicy(verify.WithArtifactDigest(h.Algorithm, digest), verify.WithKey())
	for _, v := range k {
		key := root.NewExpiringKey(v, time.Time{}, time.Time{})
		tm := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return key, nil })
		sv, err := verify.NewVerifier(tm, verify.WithNoObserverTimestamps())
		if err != nil {
			return err
		}
		if _, err := sv.Verify(b, policy); err == nil {
			return nil
		}
	}
	return errInvalid
}

func (k keyTrust) layer(_ map[string]string, signed, sig, _ []byte) error {
	for _, v := range k {
		if v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(signed)) == nil {
			return nil
		}
	}
	return errInvalid
}

// Identity is a keyless verification policy: the certificate identity and
// OIDC issuer a signature's certificate must name, and the trusted root
// (CAs, logs, timestamp authorities) it must chain to.
type Identity struct {
	// Subject is the expected certificate identity (e.g. the workflow
	// https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.2.3);
	// SubjectRegexp matches it instead. One is required.
	Subject, SubjectRegexp string
	// Issuer is the expected OIDC issuer (e.g.
	// https://token.actions.githubusercontent.com); IssuerRegexp matches
	// it instead. One is required.
	Issuer, IssuerRegexp string
	// Root is the trusted material: sigstore's trusted root.
	Root root.TrustedMaterial
}

func (id Identity) String() string {
	s, i := id.Subject, id.Issuer
	if s == "" {
		s = "~" + id.SubjectRegexp
	}
	if i == "" {
		i = "~" + id.IssuerRegexp
	}
	return s + " (issuer " + i + ")"
}

// identityTrust accepts signatures whose certificate chains to the trusted
// root and names the identity, made (by an RFC 3161 timestamp or a log's
// integrated time) while the certificate was valid; logged in a
// transparency log when the root names one, with an SCT when it names a
// CT log.
type identityTrust struct {
	tm        root.TrustedMaterial
	id        verify.CertificateIdentity
	tlog, sct bool
}

func newIdentityTrust(id Identity) (*identityTrust, error) {
	if id.Root == nil {
		return nil, errors.New("keyless verification needs a trusted root")
	}
	if id.Subject == "" && id.SubjectRegexp == "" {
		return nil, errors.New("keyless verification needs the expected certificate identity (or a regexp for it)")
	}
	if id.Issuer == "" && id.IssuerRegexp == "" {
		return nil, errors.New("keyless verification needs the expected OIDC issuer (or a regexp for it)")
	}
	ci, err := verify.NewShortCertificateIdentity(id.Issuer, id.IssuerRegexp, id.Subject, id.SubjectRegexp)
	if err != nil {
		return nil, fmt.Errorf("certificate identity policy: %w", err)
	}
	return &identityTrust{
		tm:   id.Root,
		id:   ci,
		tlog: len(id.Root.RekorLogs()) > 0,
		sct:  len(id.Root.CTLogs()) > 0,
	}, nil
}

func (t *identityTrust) bundle(b *sgbundle.Bundle, h v1.Hash) error {
	digest, err := hex.DecodeString(h.Hex)
	if err != nil {
		return err
	}
	opts := []verify.VerifierOption{verify.WithObserverTimestamps(1)}
	if t.tlog {
		opts = append(opts, verify.WithTransparencyLog(1))
	}
	if t.sct {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	}
	v, err := verify.NewVerifier(t.tm, opts...)
	if err != nil {
		return err
	}
	_, err = v.Verify(b, verify.NewPolicy(verify.WithArtifactDigest(h.Algorithm, digest), verify.WithCertificateIdentity(t.id)))
	return err
}

// layer checks a keyless legacy layer from its annotations: the
// certificate, and an RFC 3161 timestamp (the only evidence of time a
// legacy layer can carry with Rekor v2, which issues no SET).
func (t *identityTrust) layer(ann map[string]string, signed, sig, stamped []byte) error {
	cert, err := layerCertificate(ann)
	if err != nil {
		return err
	}
	tsAnn, ok := ann[TimestampAnnotation]
	if !ok {
		return fmt.Errorf("no %s annotation: a keyless legacy signature needs a timestamp to show it was made while its certificate was valid", TimestampAnnotation)
	}
	ts, err := parseTimestampAnnotation(tsAnn)
	if err != nil {
		return err
	}
	times, errs, err := verify.VerifySignedTimestamp(&stampedEntity{ts: ts, stamped: stamped}, t.tm)
	if err != nil {
		return err
	}
	if len(times) == 0 {
		return fmt.Errorf("timestamp does not verify with the trusted root: %w", errors.Join(errs...))
	}
	chains, err := verify.VerifyLeafCertificate(times[0].Time, cert, t.tm)
	if err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	if t.sct {
		if err := verify.VerifySignedCertificateTimestamp(chains, 1, t.tm); err != nil {
			return err
		}
	}
	summary, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return err
	}
	if err := t.id.Verify(summary); err != nil {
		return err
	}
	return verifyWithCert(cert, signed, sig)
}

// stampedEntity presents a legacy layer's timestamp and the bytes it
// covers to sigstore-go's timestamp verification.
type stampedEntity struct {
	verify.BaseSignedEntity
	ts, stamped []byte
}

func (e *stampedEntity) Timestamps() ([][]byte, error) { return [][]byte{e.ts}, nil }
func (e *stampedEntity) SignatureContent() (verify.SignatureContent, error) {
	return stampedContent(e.stamped), nil
}

type stampedContent []byte

func (s stampedContent) Signature() []byte                                       { return s }
func (s stampedContent) EnvelopeContent() verify.EnvelopeContent                 { return nil }
func (s stampedContent) MessageSignatureContent() verify.MessageSignatureContent { return nil }

// signerTrust, while signing keyless, accepts signatures already there by
// the same identity (certificate subject and issuer) as the signer's
// certificate, so a rerun keeps them instead of piling up new ones; the
// chain is not checked (verify does that).
type signerTrust struct {
	subject, issuer string
}

func newSignerTrust(cert *x509.Certificate) (*signerTrust, error) {
	s, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return nil, fmt.Errorf("signing certificate: %w", err)
	}
	return &signerTrust{subject: s.SubjectAlternativeName, issuer: s.CertificateIssuer}, nil
}

func (t *signerTrust) same(cert *x509.Certificate) error {
	if cert == nil {
		return errors.New("signature carries no certificate")
	}
	s, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return err
	}
	if s.SubjectAlternativeName != t.subject || s.CertificateIssuer != t.issuer {
		return fmt.Errorf("certificate names %s (issuer %s), not the signer", s.SubjectAlternativeName, s.CertificateIssuer)
	}
	return nil
}

func (t *signerTrust) bundle(b *sgbundle.Bundle, h v1.Hash) error {
	vc, err := b.VerificationContent()
	if err != nil {
		return err
	}
	if err := t.same(vc.Certificate()); err != nil {
		return err
	}
	sc, err := b.SignatureContent()
	if err != nil {
		return err
	}
	digest, err := hex.DecodeString(h.Hex)
	if err != nil {
		return err
	}
	return verify.VerifySignatureWithArtifactDigests(sc, vc, nil, []verify.ArtifactDigest{{Algorithm: h.Algorithm, Digest: digest}})
}

func (t *signerTrust) layer(ann map[string]string, signed, sig, _ []byte) error {
	cert, err := layerCertificate(ann)
	if err != nil {
		return err
	}
	if err := t.same(cert); err != nil {
		return err
	}
	return verifyWithCert(cert, signed, sig)
}

func layerCertificate(ann map[string]string) (*x509.Certificate, error) {
	c, ok := ann[CertificateAnnotation]
	if !ok {
		return nil, fmt.Errorf("no %s annotation (signed with a key, not keyless?)", CertificateAnnotation)
	}
	return parseCertificate(c)
}

func verifyWithCert(cert *x509.Certificate, signed, sig []byte) error {
	vs, err := verifiersFor(cert.PublicKey)
	if err != nil {
		return err
	}
	return keyTrust(vs).layer(nil, signed, sig, nil)
}
