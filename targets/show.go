package targets

import (
	"context"
	"os"

	"github.com/gantrybuild/gantry/targets/config"
)

// Config prints the effective configuration and every environment variable Gantry reads, with its description.
func Config(ctx context.Context) error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	return config.Print(os.Stdout, cfg, config.OSEnv)
}
