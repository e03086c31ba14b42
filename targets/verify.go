package targets

import (
	"context"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/gantrybuild/gantry/targets/reproduce"
)

// Verify checks builds.
type Verify mg.Namespace

// Build twice in clean temp dirs and compare every digest.
//
// The two builds run at different paths with separate GOCACHEs, so a path
// or a cache leaking into an output shows.
func (Verify) Reproducible(ctx context.Context) error {
	return forUser(func() error {
		b, err := load(ctx)
		if err != nil {
			return err
		}
		return reproduce.Run(ctx, b, os.Stderr)
	}())
}

// Check offline that every manifest is signed as the policy says.
//
// Checks the layouts in dist/oci, or the pushed image GANTRY_VERIFY_IMAGE:
// signed by GANTRY_VERIFY_KEY, or keyless by GANTRY_VERIFY_IDENTITY and
// GANTRY_VERIFY_ISSUER under GANTRY_TRUSTED_ROOT; names what is unsigned or
// invalid.
func (Verify) Signature(ctx context.Context) error {
	return forUser(func() error {
		b, err := load(ctx)
		if err != nil {
			return err
		}
		return b.VerifySignatures(ctx)
	}())
}
