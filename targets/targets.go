// Package targets is Gantry's mage targets: Gantry's engine. A consumer's
// magefile runs them through the small package targets/gantry, which builds
// a mage binary of this package once and runs each target there (see
// docs/architecture.md, "The command users type"). A magefile may also
// import this package directly, for Gantry's Go API in its own targets,
// and configure it with targets.Configure; every command then checks this
// package's ~860 dependencies for staleness.
//
// Each target is a thin adapter over the engine packages under targets/,
// which work as a plain Go library without mage, in a file named after its
// group (compile.go, vendor.go, verify.go, …). Every target's error goes
// through forUser, which spells the steps an engine error asks for as the
// command the repository runs mage with.
package targets

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/gitinfo"
	"github.com/gantrybuild/gantry/targets/internal/shared"
	"github.com/gantrybuild/gantry/targets/pipeline"
)

var (
	mu         sync.Mutex
	project    config.Project
	configured bool
	current    *pipeline.Build
)

// Configure registers the project Gantry's targets build. Call it once from
// an init function of your magefile; without it, Gantry builds the module in
// the current directory with the defaults. Environment variables
// (GANTRY_*, see `go tool mage config`) still override what is registered here.
func Configure(p config.Project) {
	mu.Lock()
	defer mu.Unlock()
	project, configured, current = p, true, nil
}

// load reads the configuration and git metadata once per mage run.
func load(ctx context.Context) (*pipeline.Build, error) {
	mu.Lock()
	defer mu.Unlock()
	if current != nil {
		return current, nil
	}
	cfg, err := loadConfig()
	if err != nil {
		return nil, err
	}
	b, err := pipeline.New(ctx, cfg, pipeline.Options{})
	if err != nil {
		return nil, err
	}
	current = b
	return b, nil
}

func loadConfig() (*config.Config, error) {
	if err := config.CheckOSEnv(); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return loadConfigKnown()
}

// loadConfigKnown loads the configuration without refusing unknown
// GANTRY_* variables (the config target lists them, then refuses).
func loadConfigKnown() (*config.Config, error) {
	root, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	p := project
	if !configured {
		// In Gantry's engine, the project comes from the magefile's
		// gantry.Configure, through the environment.
		engine, ok, err := config.EngineProject(config.OSEnv)
		if err != nil {
			return nil, err
		}
		if ok {
			p = engine
		}
	}
	cfg, err := config.Load(p, config.OSEnv, root)
	if err == nil {
		err = cfg.CheckOutGit(gitinfo.Tracked)
	}
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}

// forUser spells the steps an engine error asks for (shared.NeedStep) as
// the command this repository runs mage with: the one place hints get it.
func forUser(err error) error {
	if err == nil {
		return nil
	}
	wd, werr := os.Getwd()
	if werr != nil {
		return err
	}
	return shared.ForUser(err, config.MageCommand(wd))
}
