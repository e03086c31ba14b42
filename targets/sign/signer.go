package sign

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"
)

// Signer signs with one key. A key file, a KMS key and, later, a keyless
// identity (an ephemeral key certified by Fulcio, see docs/keyless.md) are
// Signers; package keys loads the first two.
type Signer interface {
	// PublicKey is the key that verifies this signer's signatures.
	PublicKey() crypto.PublicKey
	// HashFunc is the hash Sign applies to a message before signing it;
	// 0 for pure Ed25519, which signs the message itself.
	HashFunc() crypto.Hash
	// Sign signs message.
	Sign(ctx context.Context, message []byte) ([]byte, error)
}

// Hint is the sigstore bundle's public key hint for pub: the base64 SHA-256
// of its PKIX DER encoding, as cosign writes it.
func Hint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encoding public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}

// verifiersFor returns sigstore verifiers for pub: the algorithm Gantry
// signs with (and cosign verifies with by default: SHA-256 for every ECDSA
// curve and RSA, pure Ed25519) first, then the variants cosign signs with
// for some keys (SHA-384 for P-384, Ed25519ph). Each binds its hash, so
// accepting either is sound.
func verifiersFor(pub crypto.PublicKey) ([]signature.Verifier, error) {
	d, err := signature.GetDefaultAlgorithmDetails(pub)
	if err != nil {
		return nil, fmt.Errorf("unsupported public key type %T: use ECDSA P-256 or P-384, Ed25519 or RSA", pub)
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("loading public key: %w", err)
	}
	out := []signature.Verifier{v}
	switch d.GetKeyType() {
	case signature.ECDSA:
		if d.GetHashType() != crypto.SHA256 {
			if v, err := signature.LoadVerifierFromAlgorithmDetails(pub, d); err == nil {
				out = append(out, v)
			}
		}
	case signature.ED25519:
		if v, err := signature.LoadVerifierWithOpts(pub, sigopts.WithED25519ph()); err == nil {
			out = append(out, v)
		}
	}
	return out, nil
}

var _ sgsign.Keypair = (*keypair)(nil)

// keypair adapts a Signer to sigstore-go's Keypair, which builds bundles.
type keypair struct {
	s    Signer
	hint string
}

func newKeypair(s Signer) (*keypair, error) {
	hint, err := Hint(s.PublicKey())
	if err != nil {
		return nil, err
	}
	return &keypair{s: s, hint: hint}, nil
}

func (k *keypair) GetHashAlgorithm() protocommon.HashAlgorithm {
	switch k.s.HashFunc() {
	case crypto.SHA256:
		return protocommon.HashAlgorithm_SHA2_256
	case crypto.SHA384:
		return protocommon.HashAlgorithm_SHA2_384
	case crypto.SHA512:
		return protocommon.HashAlgorithm_SHA2_512
	}
	return protocommon.HashAlgorithm_HASH_ALGORITHM_UNSPECIFIED
}

// GetSigningAlgorithm is sigstore's name for the key's algorithm (used
// only by Fulcio and Rekor requests, which key-based signing makes none of).
func (k *keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	d, _ := signature.GetDefaultPublicKeyDetails(k.s.PublicKey())
	return d
}

func (k *keypair) GetHint() []byte { return []byte(k.hint) }

func (k *keypair) GetKeyAlgorithm() string {
	d, err := signature.GetDefaultAlgorithmDetails(k.s.PublicKey())
	if err != nil {
		return ""
	}
	switch d.GetKeyType() {
	case signature.ECDSA:
		return "ECDSA"
	case signature.RSA:
		return "RSA"
	case signature.ED25519:
		return "ED25519"
	}
	return ""
}

func (k *keypair) GetPublicKey() crypto.PublicKey { return k.s.PublicKey() }

func (k *keypair) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(k.s.PublicKey())
	return string(b), err
}

// SignData returns the signature and what was signed (the digest, or the
// data for pure Ed25519), as sigstore-go expects.
func (k *keypair) SignData(ctx context.Context, data []byte) ([]byte, []byte, error) {
	sig, err := k.s.Sign(ctx, data)
	if err != nil {
		return nil, nil, err
	}
	signed := data
	if h := k.s.HashFunc(); h != crypto.Hash(0) {
		hh := h.New()
		hh.Write(data)
		signed = hh.Sum(nil)
	}
	return sig, signed, nil
}
