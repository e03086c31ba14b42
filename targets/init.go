package targets

import (
	"context"
	"fmt"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/scaffold"
)

// Init sets up Gantry in the Go module at <dir>: writes magefiles/magefile.go (one image per main package), the build module magefiles/go.mod (Gantry and mage; the app's go.mod, go.sum and vendor/ stay untouched), the CI pipeline GANTRY_TEMPLATE names (github, github-split, gitlab, gitlab-split, none) and, with GANTRY_INIT_DOCKERFILE=1, a Dockerfile; replaces no file unless GANTRY_INIT_FORCE=1.
func Init(ctx context.Context, dir string) error {
	if err := config.CheckOSEnv(); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	s, err := config.LoadScaffold(config.OSEnv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	return scaffold.InitConfigured(ctx, dir, s)
}
