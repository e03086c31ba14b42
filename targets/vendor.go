package targets

import (
	"context"

	"github.com/magefile/mage/mg"
)

// Vendor checks dependencies.
type Vendor mg.Namespace

// Verify the dependencies: go mod verify, and vendor/ against go.mod.
//
// When vendor/ exists, it must be exactly what go mod vendor would write
// from go.mod and go.sum. A passed check is remembered in dist/cache until
// something it depends on changes.
func (Vendor) Check(ctx context.Context) error {
	return forUser(func() error {
		b, err := load(ctx)
		if err != nil {
			return err
		}
		return b.VendorCheck(ctx)
	}())
}
