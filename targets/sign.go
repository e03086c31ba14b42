package targets

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/gantrybuild/gantry/targets/internal/shared"
	"github.com/gantrybuild/gantry/targets/sign/keys"
)

// Add cosign-compatible signatures to every image in dist/oci.
//
// Signs what index wrote, the index and every platform manifest, with
// GANTRY_SIGN_KEY, or keyless in CI with GANTRY_SIGN_KEYLESS=1, in cosign's
// formats (GANTRY_SIGN_FORMAT: a sigstore bundle as an OCI referrer and the
// legacy .sig), into the layout.
func Sign(ctx context.Context) error {
	return forUser(func() error {
		b, err := load(ctx)
		if err != nil {
			return err
		}
		return b.Sign(ctx)
	}())
}

// Write a cosign-compatible key pair: cosign.key and cosign.pub.
//
// The private key is encrypted with COSIGN_PASSWORD; GANTRY_KEYGEN_PREFIX
// changes the names. An existing key is never replaced.
func Keygen(ctx context.Context) error {
	return forUser(func() error {
		cfg, err := loadConfig()
		if err != nil {
			return err
		}
		sc := cfg.Sign
		if !sc.HasPassword {
			return errors.New("set COSIGN_PASSWORD to the password that will protect the new private key (cosign reads the same variable)")
		}
		keyPath, pubPath, err := keys.WriteKeyPair(sc.KeygenPrefix, []byte(sc.Password.Reveal()))
		if err != nil {
			return err
		}
		keyPath, pubPath = shared.RelPath(keyPath), shared.RelPath(pubPath)
		fmt.Fprintf(os.Stderr, "wrote %s (private, encrypted with COSIGN_PASSWORD; never commit it) and %s (public)\n", keyPath, pubPath)
		fmt.Fprintf(os.Stderr, "sign with GANTRY_SIGN_KEY=%s; verify with GANTRY_VERIFY_KEY=%s or `cosign verify --key %s`\n", keyPath, pubPath, pubPath)
		return nil
	}())
}
