// Command gantry-init sets up Gantry in a Go module without a clone of the
// kit, as `go tool mage init` does from one:
//
//	go run github.com/gantrybuild/gantry/targets/scaffold/cmd/gantry-init@latest [dir]
//
// GANTRY_TEMPLATE, GANTRY_INIT_FORCE, GANTRY_INIT_DOCKERFILE and
// GANTRY_INIT_KIT work as for `go tool mage init`; dir defaults to ".".
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/scaffold"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gantry-init:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dir := "."
	switch len(os.Args) {
	case 1:
	case 2:
		dir = os.Args[1]
	default:
		return fmt.Errorf("usage: gantry-init [dir]")
	}
	if err := config.CheckOSEnv(); err != nil {
		return err
	}
	s, err := config.LoadScaffold(config.OSEnv)
	if err != nil {
		return err
	}
	return scaffold.InitConfigured(ctx, dir, s)
}
