package targets

import (
	"context"
	"os"

	"github.com/gantrybuild/gantry/targets/config"
)

// Remove the output directory (dist/), if Gantry created it.
//
// Gantry marks the directories it creates (.gantry) and removes no other.
func Clean(ctx context.Context) error {
	return forUser(func() error {
		cfg, err := loadConfig()
		if err != nil {
			return err
		}
		return config.Clean(cfg.Out, os.Stderr)
	}())
}
