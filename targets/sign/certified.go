package sign

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"

	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
)

// Annotations of a legacy signature or attestation layer that carry a
// keyless signature's verification material, as cosign writes them.
const (
	CertificateAnnotation = "dev.sigstore.cosign/certificate"      // the signing certificate (PEM)
	ChainAnnotation       = "dev.sigstore.cosign/chain"            // its CA chain (PEM)
	TimestampAnnotation   = "dev.sigstore.cosign/rfc3161timestamp" // {"SignedRFC3161Timestamp": base64 DER}
	RekorBundleAnnotation = "dev.sigstore.cosign/bundle"           // a Rekor v1 SET (Gantry writes none)
)

// Certified is a Signer whose key is certified for an identity: keyless
// signing (package keyless), an ephemeral key with a Fulcio certificate.
// Its signatures carry the certificate and evidence of when they were
// made (an RFC 3161 timestamp, a transparency log entry).
type Certified interface {
	Signer
	// Certificate returns the signing certificate and its CA chain
	// (intermediates, then the root), fetched once.
	Certificate(ctx context.Context) (*x509.Certificate, []*x509.Certificate, error)
	// BundleOptions are sigstore-go's options for a bundle: the
	// certificate, the transparency logs and the timestamp authorities.
	BundleOptions(ctx context.Context) (sgsign.BundleOptions, error)
	// Timestamp returns an RFC 3161 timestamp over data, nil when no
	// timestamp authority is configured.
	Timestamp(ctx context.Context, data []byte) ([]byte, error)
}

// certifiedAnnotations returns the annotations that carry a Certified
// signer's material on a legacy layer: the certificate, the chain and a
// timestamp over stamped (the raw signature of a simple-signing layer, the
// envelope of an attestation layer: what cosign verifies the timestamp
// against).
func certifiedAnnotations(ctx context.Context, c Certified, stamped []byte) (map[string]string, error) {
	leaf, chain, err := c.Certificate(ctx)
	if err != nil {
		return nil, err
	}
	ann := map[string]string{CertificateAnnotation: string(pemCerts(leaf))}
	if len(chain) > 0 {
		ann[ChainAnnotation] = string(pemCerts(chain...))
	}
	ts, err := c.Timestamp(ctx, stamped)
	if err != nil {
		return nil, err
	}
	if ts != nil {
		raw, err := json.Marshal(cosignTimestamp{SignedRFC3161Timestamp: base64.StdEncoding.EncodeToString(ts)})
		if err != nil {
			return nil, err
		}
		ann[TimestampAnnotation] = string(raw)
	}
	return ann, nil
}

// cosignTimestamp is the JSON of cosign's rfc3161timestamp annotation.
type cosignTimestamp struct {
	SignedRFC3161Timestamp string
}

// parseTimestampAnnotation returns the DER timestamp an rfc3161timestamp
// annotation holds.
func parseTimestampAnnotation(s string) ([]byte, error) {
	var ts cosignTimestamp
	if err := json.Unmarshal([]byte(s), &ts); err != nil {
		return nil, fmt.Errorf("%s annotation: %w", TimestampAnnotation, err)
	}
	der, err := base64.StdEncoding.DecodeString(ts.SignedRFC3161Timestamp)
	if err != nil || len(der) == 0 {
		return nil, fmt.Errorf("%s annotation holds no base64 timestamp", TimestampAnnotation)
	}
	return der, nil
}

func pemCerts(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// parseCertificate reads the first PEM certificate of s.
func parseCertificate(s string) (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s annotation holds no PEM certificate", CertificateAnnotation)
	}
	return x509.ParseCertificate(b.Bytes)
}
