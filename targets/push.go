package targets

import (
	"context"
)

// Publish the images in dist/oci to GANTRY_REPO; never build.
//
// Blobs, then manifests, then tags; writes dist/metadata.json. Prints each
// pushed reference (repo@sha256:…) on stdout and everything else on stderr,
// so IMG=$(go tool mage push) holds exactly the pushed references.
func Push(ctx context.Context) error {
	return forUser(func() error {
		b, err := load(ctx)
		if err != nil {
			return err
		}
		return b.Push(ctx)
	}())
}
