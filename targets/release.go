package targets

import (
	"context"
)

// Build, describe, sign and (with GANTRY_REPO) push every image.
//
// Runs vendor:check alongside compile:all, then layout, index, sbom and sign
// (when a signing key is set; otherwise it says it skipped signing), prints
// what was built, then pushes when GANTRY_REPO is set. Refuses a dirty work
// tree unless GANTRY_ALLOW_DIRTY=1. With GANTRY_INDEX_FROM (a split
// pipeline's merge job) it merges the layouts built elsewhere instead of
// building. Stdout gets only what a script reads: the pushed references,
// or offline, <layout dir>@<index digest> per image.
func Release(ctx context.Context) error {
	return forUser(func() error {
		b, err := load(ctx)
		if err != nil {
			return err
		}
		// One call, not mage dependencies: the pipeline runs vendor:check
		// alongside compile:all (mage would run them one after the other).
		return b.Release(ctx)
	}())
}
