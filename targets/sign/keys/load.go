package keys

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/gantrybuild/gantry/targets/internal/shared"
	"github.com/gantrybuild/gantry/targets/sign"
)

// Ref names a key to load.
type Ref struct {
	// Key is a key file or a KMS URI (hashivault://release). With PEM set,
	// it only names the key in messages (e.g. "env://GANTRY_KEY").
	Key string
	// PEM is key material handed over directly (a CI secret): Key is not read.
	PEM []byte
	// Password decrypts a cosign key file (COSIGN_PASSWORD).
	Password []byte
	// KMS configures KMS providers.
	KMS KMS
}

// LoadSigner loads the private key ref names.
func LoadSigner(ctx context.Context, ref Ref) (sign.Signer, error) {
	if ref.PEM == nil && IsKMS(ref.Key) {
		return NewKMSSigner(ctx, ref.Key, ref.KMS)
	}
	data, err := ref.material()
	if err != nil {
		return nil, err
	}
	key, err := ParsePrivateKey(data, ref.Password)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", ref.Key, err)
	}
	return NewSigner(ref.Key, key)
}

// LoadPublicKey loads the public key ref names: a PEM public key (file or
// material) or a KMS key's public half.
func LoadPublicKey(ctx context.Context, ref Ref) (crypto.PublicKey, error) {
	if ref.PEM == nil && IsKMS(ref.Key) {
		_, pub, _, err := openKMS(ctx, ref.Key, ref.KMS)
		return pub, err
	}
	data, err := ref.material()
	if err != nil {
		return nil, err
	}
	pub, err := ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", ref.Key, err)
	}
	return pub, nil
}

// material returns the PEM ref holds or the content of its file.
func (r Ref) material() ([]byte, error) {
	if r.PEM != nil {
		if len(r.PEM) == 0 {
			return nil, fmt.Errorf("key %s is empty", r.Key)
		}
		return r.PEM, nil
	}
	if r.Key == "" {
		return nil, errors.New("no key configured")
	}
	data, err := os.ReadFile(r.Key)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &shared.NeedStep{Err: fmt.Errorf("key file %s does not exist", r.Key), Fix: "generate a pair with {keygen}"}
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("key file %s is unreadable: %w", r.Key, err)
	}
	return data, nil
}
