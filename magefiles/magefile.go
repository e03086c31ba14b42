//go:build mage

// Gantry's own magefile, laid out as init lays out a consumer's: gantry.go
// (generated) holds the targets that build images, here of the example app
// testdata/hello; this file configures them and adds the kit's own targets.

// Gantry's own build: images of testdata/hello, and the kit's targets.
package main

import (
	"context"

	"github.com/magefile/mage/sh"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/gantry"
)

func init() {
	gantry.Configure(config.Project{
		Images: []config.Image{{Dir: "testdata/hello"}},
	})
}

// Set up Gantry in the Go module at moduleDir: magefile, build module, CI.
//
// Writes magefiles/magefile.go (one image per main package) and
// magefiles/gantry.go (the targets), the build module magefiles/go.mod
// (Gantry and mage; the app's go.sum and vendor/ stay untouched, its go.mod
// gains at most mage's tool line), the CI pipeline GANTRY_TEMPLATE names
// (github, github-split, gitlab, gitlab-split, none) and, with
// GANTRY_INIT_DOCKERFILE=1, a Dockerfile. Replaces no file unless
// GANTRY_INIT_FORCE=1.
func Init(ctx context.Context, moduleDir string) error {
	return gantry.Run(ctx, "init", moduleDir)
}

// Time go build, gantry release and ko build side by side.
//
// Runs scripts/bench (go run ./scripts/bench): the scenarios, knobs
// (BENCH_*) and the report are documented there and in docs/bench-vs-ko.md.
func Bench() error {
	return sh.RunV("go", "run", "./scripts/bench")
}
