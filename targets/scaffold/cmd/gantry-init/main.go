// Command gantry-init sets up Gantry in a Go module without a clone of the
// kit, as `go tool mage init` does from one:
//
//	go run github.com/gantrybuild/gantry/targets/scaffold/cmd/gantry-init@latest [dir]
//
// GANTRY_TEMPLATE, GANTRY_INIT_FORCE, GANTRY_INIT_DOCKERFILE and
// GANTRY_INIT_KIT work as for `go tool mage init`; dir defaults to ".".
//
// With -targets it rewrites only magefiles/gantry.go, the generated targets,
// for the kit version the build module pins (after an upgrade of Gantry:
// the engine says when the file is another version's), and leaves the
// magefile, go.mod files and pipeline alone:
//
//	go -C magefiles run github.com/gantrybuild/gantry/targets/scaffold/cmd/gantry-init -targets ..
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

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
	flags := flag.NewFlagSet("gantry-init", flag.ContinueOnError)
	onlyTargets := flags.Bool("targets", false, "rewrite only magefiles/gantry.go, for the kit version magefiles/go.mod pins")
	if err := flags.Parse(os.Args[1:]); err != nil {
		return err
	}
	dir := "."
	switch flags.NArg() {
	case 0:
	case 1:
		dir = flags.Arg(0)
	default:
		return fmt.Errorf("usage: gantry-init [-targets] [dir] (got %q)", strings.Join(os.Args[1:], " "))
	}
	if *onlyTargets {
		changed, err := scaffold.RefreshTargets(dir)
		if err != nil {
			return err
		}
		root, err := filepath.Abs(dir)
		if err != nil {
			root = dir
		}
		if changed {
			fmt.Printf("wrote %s in %s: the targets of this version of Gantry; commit it\n", scaffold.TargetsPath, root)
		} else {
			fmt.Printf("%s in %s is already this version's targets\n", scaffold.TargetsPath, root)
		}
		return nil
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
