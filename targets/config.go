package targets

import (
	"context"
	"fmt"
	"os"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/inject"
)

// Print the effective configuration and every environment variable.
//
// Each variable Gantry reads is listed with its value (secrets as (set))
// and its description.
func Config(ctx context.Context) error {
	return forUser(func() error {
		cfg, err := loadConfigKnown()
		if err != nil {
			return err
		}
		for i, t := range cfg.Images {
			plan, err := inject.Resolve(ctx, inject.ForImage(t, cfg.Out, "", nil))
			if err != nil {
				return err
			}
			cfg.Images[i].Injections = plan.Lines()
		}
		if err := config.Print(os.Stdout, cfg, config.OSEnv); err != nil {
			return err
		}
		if err := config.CheckOSEnv(); err != nil {
			return fmt.Errorf("configuration: %w", err)
		}
		return nil
	}())
}
