// Package keys loads the keys Gantry signs and verifies with: cosign key
// files (encrypted with a password), unencrypted PEM keys, key material
// handed over directly (a CI secret), and KMS keys through sigstore's KMS
// providers. It also generates cosign-compatible key pairs.
//
// No function here prints, logs or wraps into an error any key material or
// password.
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
)

// PEM block types.
const (
	SigstorePrivateKeyType = "ENCRYPTED SIGSTORE PRIVATE KEY" // cosign ≥ 2.0
	CosignPrivateKeyType   = "ENCRYPTED COSIGN PRIVATE KEY"   // older cosign
	pkcs8Type              = "PRIVATE KEY"
	ecType                 = "EC PRIVATE KEY"
	pkcs1Type              = "RSA PRIVATE KEY"
	encryptedPKCS8Type     = "ENCRYPTED PRIVATE KEY"
	publicKeyType          = "PUBLIC KEY"
)

// Errors a caller may branch on.
var (
	ErrWrongPassword = errors.New("wrong password")
	ErrUnsupported   = errors.New("unsupported key")
)

// minRSABits is the smallest RSA key accepted.
const minRSABits = 2048

// Describe names a public key's algorithm ("ECDSA P-256", "RSA 3072",
// "Ed25519"), or fails with ErrUnsupported and what is supported.
func Describe(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "ECDSA P-256", nil
		case elliptic.P384():
			return "ECDSA P-384", nil
		}
		return "", fmt.Errorf("%w: ECDSA on curve %s: use P-256 or P-384", ErrUnsupported, k.Curve.Params().Name)
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		if bits < minRSABits {
			return "", fmt.Errorf("%w: RSA key of %d bits: use at least %d", ErrUnsupported, bits, minRSABits)
		}
		switch bits {
		case 2048, 3072, 4096:
			return fmt.Sprintf("RSA %d", bits), nil
		}
		return "", fmt.Errorf("%w: RSA key of %d bits: use 2048, 3072 or 4096", ErrUnsupported, bits)
	case ed25519.PublicKey:
		return "Ed25519", nil
	}
	return "", fmt.Errorf("%w: %T keys: use ECDSA P-256 or P-384, Ed25519, or RSA of at least %d bits", ErrUnsupported, pub, minRSABits)
}

// ParsePrivateKey parses a PEM private key: a cosign key file (PEM
// "ENCRYPTED SIGSTORE PRIVATE KEY" or "ENCRYPTED COSIGN PRIVATE KEY",
// decrypted with password) or an unencrypted PKCS#8 ("PRIVATE KEY"), SEC 1
// ("EC PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY") key, of a supported
// algorithm (see Describe). Errors say what is wrong, never the key.
func ParsePrivateKey(data, password []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: not a PEM-encoded key (want a cosign key file or a PEM private key)", ErrUnsupported)
	}
	var key any
	var err error
	switch block.Type {
	case SigstorePrivateKeyType, CosignPrivateKeyType:
		der, derr := encrypted.Decrypt(block.Bytes, password)
		if derr != nil {
			if len(password) == 0 {
				return nil, fmt.Errorf("%w: the key is encrypted and no password is set: set COSIGN_PASSWORD", ErrWrongPassword)
			}
			return nil, fmt.Errorf("%w for the encrypted key (COSIGN_PASSWORD), or the key file is corrupt", ErrWrongPassword)
		}
		key, err = x509.ParsePKCS8PrivateKey(der)
	case pkcs8Type:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case ecType:
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case pkcs1Type:
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case encryptedPKCS8Type:
		return nil, fmt.Errorf("%w: PEM %q (PKCS#8 encrypted with a password) is not read: import it with `cosign import-key-pair`, which writes a cosign key file", ErrUnsupported, block.Type)
	case publicKeyType:
		return nil, fmt.Errorf("%w: this is a public key; signing needs the private key (the public key is for GANTRY_VERIFY_KEY)", ErrUnsupported)
	default:
		return nil, fmt.Errorf("%w: PEM %q is not a private key type Gantry reads (cosign key files, PRIVATE KEY, EC PRIVATE KEY, RSA PRIVATE KEY)", ErrUnsupported, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: PEM %q does not hold such a key (%s)", ErrUnsupported, block.Type, mismatch(block))
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: %T keys cannot sign", ErrUnsupported, key)
	}
	if _, err := Describe(signer.Public()); err != nil {
		return nil, err
	}
	return signer, nil
}

// mismatch says what a PEM block that failed to parse as its type holds.
func mismatch(block *pem.Block) string {
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		return fmt.Sprintf("it holds a PKCS#8 %s key: label it PRIVATE KEY", algorithmOf(k))
	}
	if _, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return "it holds an EC key: label it EC PRIVATE KEY"
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return "it holds an RSA key: label it RSA PRIVATE KEY"
	}
	return "its content is not a key of any supported encoding"
}

func algorithmOf(k any) string {
	switch k.(type) {
	case *ecdsa.PrivateKey:
		return "ECDSA"
	case *rsa.PrivateKey:
		return "RSA"
	case ed25519.PrivateKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", k)
}

// ParsePublicKey parses a PEM public key ("PUBLIC KEY", as cosign.pub holds
// it) of a supported algorithm.
func ParsePublicKey(data []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: not a PEM-encoded public key (want the PUBLIC KEY PEM of cosign.pub)", ErrUnsupported)
	}
	switch block.Type {
	case publicKeyType:
	case SigstorePrivateKeyType, CosignPrivateKeyType, pkcs8Type, ecType, pkcs1Type, encryptedPKCS8Type:
		return nil, fmt.Errorf("%w: this is a private key; verifying needs only the public key (cosign.pub): keep the private key out of GANTRY_VERIFY_KEY", ErrUnsupported)
	default:
		return nil, fmt.Errorf("%w: PEM %q is not a public key (want PUBLIC KEY)", ErrUnsupported, block.Type)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: PUBLIC KEY PEM does not hold a PKIX public key", ErrUnsupported)
	}
	if _, err := Describe(pub); err != nil {
		return nil, err
	}
	return pub, nil
}
