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
