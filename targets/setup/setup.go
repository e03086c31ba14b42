// Package setup holds the mage target that sets Gantry up in another Go
// module, init. Gantry's own magefile imports it:
//
//	//mage:import
//	_ "github.com/gantrybuild/gantry/targets/setup"
//
// A consumer's magefile imports only package targets, so `go tool mage -l`
// there lists the targets that build it and not this one, which applies to
// a clone of Gantry only (without one, run gantry-init: see
// targets/scaffold/cmd/gantry-init).
package setup

import (
	"context"
	"fmt"
	"os"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/scaffold"
)

// Set up Gantry in the Go module at moduleDir: magefile, build module, CI.
//
// Writes magefiles/magefile.go (one image per main package), the build
// module magefiles/go.mod (Gantry and mage; the app's go.mod, go.sum and
// vendor/ stay untouched), the CI pipeline GANTRY_TEMPLATE names (github,
// github-split, gitlab, gitlab-split, none) and, with
// GANTRY_INIT_DOCKERFILE=1, a Dockerfile. Replaces no file unless
// GANTRY_INIT_FORCE=1.
func Init(ctx context.Context, moduleDir string) error {
	if err := config.CheckOSEnv(); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	s, err := config.LoadScaffold(config.OSEnv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	return scaffold.InitConfigured(ctx, moduleDir, s)
}

// WarnStaleTargets prints one line when the repository's
// magefiles/gantry.go (in the working directory, the repository's root)
// holds the targets of another version of Gantry than this engine's: after
// an upgrade, a target the new version added is missing there, and one
// whose arguments changed is called the old way. The engine runs it before
// every target.
func WarnStaleTargets() {
	root, err := os.Getwd()
	if err != nil || !scaffold.TargetsStale(root) {
		return
	}
	fmt.Fprintf(os.Stderr, "gantry: magefiles/gantry.go is not what this engine's version of Gantry generates (Gantry was upgraded or downgraded, or the file edited): a target may be missing or take other arguments; refresh it with `%s` and commit it\n", scaffold.RefreshCommand)
}
