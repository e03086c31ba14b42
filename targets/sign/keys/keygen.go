package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// GenerateKeyPair returns a new ECDSA P-256 key pair in cosign's format,
// as `cosign generate-key-pair` writes it: the private key as PKCS#8
// encrypted with password (scrypt and NaCl secretbox) in a PEM
// "ENCRYPTED SIGSTORE PRIVATE KEY" block, the public key as a PEM
// "PUBLIC KEY".
func GenerateKeyPair(password []byte) (private, public []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating a key: %w", err)
	}
	return EncodeKeyPair(key, password)
}

// EncodeKeyPair encodes key as GenerateKeyPair does.
func EncodeKeyPair(key *ecdsa.PrivateKey, password []byte) (private, public []byte, err error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the key: %w", err)
	}
	enc, err := encrypted.Encrypt(der, password)
	if err != nil {
		return nil, nil, fmt.Errorf("encrypting the key: %w", err)
	}
	public, err = cryptoutils.MarshalPublicKeyToPEM(key.Public())
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: SigstorePrivateKeyType, Bytes: enc}), public, nil
}

// WriteKeyPair generates a key pair and writes it to prefix.key (mode 0600)
// and prefix.pub, refusing to replace either file.
func WriteKeyPair(prefix string, password []byte) (keyPath, pubPath string, err error) {
	keyPath, pubPath = prefix+".key", prefix+".pub"
	for _, p := range []string{keyPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return "", "", fmt.Errorf("%s already exists: remove it or choose another prefix (GANTRY_KEYGEN_PREFIX); keygen never replaces a key", p)
		}
	}
	private, public, err := GenerateKeyPair(password)
	if err != nil {
		return "", "", err
	}
	if err := create(keyPath, private, 0o600); err != nil {
		return "", "", err
	}
	if err := create(pubPath, public, 0o644); err != nil {
		os.Remove(keyPath)
		return "", "", err
	}
	return keyPath, pubPath, nil
}

// create writes a new file, failing if it exists.
func create(path string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists: remove it or choose another prefix (GANTRY_KEYGEN_PREFIX)", path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = f.Write(data)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
