// Package gantry is the front door of Gantry's mage targets: what a
// magefile imports. It is small on purpose. Mage runs `go build` on the
// magefiles for every command to learn whether its binary is stale, and
// that check costs time in proportion to the packages the magefiles
// import; the kit's engine (package targets: go-containerregistry,
// sigstore, go-git, about 860 packages) would cost a second on every
// `go tool mage release`, even a no-op one.
//
// So a magefile imports this package and package config only, and each
// target runs in the engine: a mage binary of package targets that Run
// builds once per build module and toolchain and keeps in the user's cache
// directory (see Key for what keys it). The engine gets the project the
// magefile configured, runs the target there and exits with its status.
//
// init writes magefiles/gantry.go, one mage target per engine target, each
// calling Run; compose them with mg.Deps like any other target. A magefile
// that wants Gantry's Go API in its own targets imports package targets
// directly and pays for its packages on every command.
package gantry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"

	"github.com/gantrybuild/gantry/targets/config"
)

var (
	mu      sync.Mutex
	project *config.Project
)

// Configure registers the project the engine builds. Call it once from an
// init function of your magefile; without it, Gantry builds the module in
// the current directory with the defaults. Environment variables (GANTRY_*,
// see `go tool mage config`) still override what is registered here.
func Configure(p config.Project) {
	mu.Lock()
	defer mu.Unlock()
	project = &p
}

// Run runs one engine target ("release", "compile:platform" with its
// argument …) with the project registered by Configure. When the target
// fails, the engine has printed why, and Run exits with its status: mage
// would otherwise print the same failure a second time.
func Run(ctx context.Context, target string, args ...string) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	engine, err := Engine(ctx, wd)
	if err != nil {
		return err
	}
	env := os.Environ()
	mu.Lock()
	p := project
	mu.Unlock()
	if p != nil {
		data, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("handing the project to the engine: %w", err)
		}
		env = append(env, config.EngineProjectVar+"="+string(data))
	}
	cmd := exec.CommandContext(ctx, engine, append([]string{target}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.Env = os.Stdin, os.Stdout, os.Stderr, env
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && ctx.Err() == nil && exit.ExitCode() > 0 {
		os.Exit(exit.ExitCode())
	}
	if err != nil {
		return fmt.Errorf("running Gantry's engine for %s: %w", target, err)
	}
	return nil
}
