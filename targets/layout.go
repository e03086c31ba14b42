package targets

import (
	"context"

	"github.com/magefile/mage/mg"
)

// Compile, then write each platform image into dist/oci/<name>.
func Layout(ctx context.Context) error {
	return forUser(func() error {
		mg.CtxDeps(ctx, Compile.All)
		b, err := load(ctx)
		if err != nil {
			return err
		}
		return b.Layout(ctx)
	}())
}
