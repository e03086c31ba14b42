package targets

import (
	"context"

	"github.com/magefile/mage/mg"
)

// Write the multi-arch image index into dist/oci/<name>.
//
// With GANTRY_INDEX_FROM it merges the layouts built on other runners
// instead of building.
func Index(ctx context.Context) error {
	return forUser(func() error {
		b, err := load(ctx)
		if err != nil {
			return err
		}
		if len(b.Config.IndexFrom) == 0 {
			mg.CtxDeps(ctx, Layout)
		}
		return b.Index(ctx)
	}())
}
