package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"fmt"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/gantrybuild/gantry/targets/sign"
)

var _ sign.Signer = (*keySigner)(nil)

// keySigner signs with a private key in memory: ECDSA (P-256 and P-384)
// and RSA PKCS#1 v1.5 with SHA-256, Ed25519 pure. That is what `cosign
// verify --key` checks by default: it verifies every key with SHA-256
// (cosign sign's SHA-384 signatures with a P-384 key need
// --signature-digest-algorithm sha384 to verify).
type keySigner struct {
	name string
	sv   signature.SignerVerifier
	pub  crypto.PublicKey
	hash crypto.Hash
}

// NewSigner returns the Signer for a private key. name says which key it
// is in messages (a path, "env://VAR").
func NewSigner(name string, key crypto.Signer) (sign.Signer, error) {
	pub := key.Public()
	if _, err := Describe(pub); err != nil {
		return nil, fmt.Errorf("key %s: %w", name, err)
	}
	hash := hashFor(pub)
	sv, err := signature.LoadSignerVerifier(key, hash)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", name, err)
	}
	return &keySigner{name: name, sv: sv, pub: pub, hash: hash}, nil
}

// hashFor is the hash a key signs with: SHA-256, none for Ed25519.
func hashFor(pub crypto.PublicKey) crypto.Hash {
	if _, ok := pub.(ed25519.PublicKey); ok {
		return crypto.Hash(0)
	}
	return crypto.SHA256
}

func (k *keySigner) PublicKey() crypto.PublicKey { return k.pub }
func (k *keySigner) HashFunc() crypto.Hash       { return k.hash }

func (k *keySigner) Sign(ctx context.Context, message []byte) ([]byte, error) {
	sig, err := k.sv.SignMessage(bytes.NewReader(message), options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("signing with %s: %w", k.name, err)
	}
	return sig, nil
}

// String names the key and its algorithm, never its material.
func (k *keySigner) String() string {
	d, _ := Describe(k.pub)
	return k.name + " (" + d + ")"
}
