package targets

import (
	"context"
	"fmt"
	"os"

	"github.com/gantrybuild/gantry/targets/config"
)

// Config prints the effective configuration and every environment variable Gantry reads, with its description.
func Config(ctx context.Context) error {
	cfg, err := loadConfigKnown()
	if err != nil {
		return err
	}
	if err := config.Print(os.Stdout, cfg, config.OSEnv); err != nil {
		return err
	}
	if err := config.CheckOSEnv(); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	return nil
}
