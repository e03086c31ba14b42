package targets

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/magefile/mage/mg"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/platform"
	"github.com/gantrybuild/gantry/targets/reproduce"
)

// Compile cross-compiles the configured main packages.
type Compile mg.Namespace

// Compile every image for every platform into dist/bin.
//
// CGO off, -trimpath, stripped, the version from git injected; an image
// whose inputs did not change since its last build is not built again.
func (Compile) All(ctx context.Context) error { return forUser(compileFor(ctx, nil)) }

// Compile every image for linux/amd64 only.
func (Compile) Amd64(ctx context.Context) error {
	return forUser(compileFor(ctx, []string{"linux/amd64"}))
}

// Compile every image for linux/arm64 only.
func (Compile) Arm64(ctx context.Context) error {
	return forUser(compileFor(ctx, []string{"linux/arm64"}))
}

// Compile every image for one platform, os/arch[/variant].
//
// For example linux/arm/v7, linux/amd64/v3 or linux/arm64/v8.2: any
// platform the Go toolchain supports.
func (Compile) Platform(ctx context.Context, platform string) error {
	return forUser(func() error {
		return compileFor(ctx, []string{platform})
	}())
}

func compileFor(ctx context.Context, specs []string) error {
	b, err := load(ctx)
	if err != nil {
		return err
	}
	var only []v1.Platform
	for _, s := range specs {
		p, err := platform.Parse(s)
		if err != nil {
			return err
		}
		only = append(only, p)
	}
	return b.Compile(ctx, only)
}

// Vendor checks dependencies.
type Vendor mg.Namespace

// Verify the dependencies: go mod verify, and vendor/ against go.mod.
//
// When vendor/ exists, it must be exactly what go mod vendor would write
// from go.mod and go.sum. A passed check is remembered in dist/cache until
// something it depends on changes.
func (Vendor) Check(ctx context.Context) error {
	return forUser(func() error {
		b, err := load(ctx)
		if err != nil {
			return err
		}
		return b.VendorCheck(ctx)
	}())
}

// Compile, then write each platform image into dist/oci/<name>.
func Layout(ctx context.Context) error {
	return forUser(func() error {
		mg.CtxDeps(ctx, Compile.All)
		b, err := load(ctx)
		if err != nil {
			return err
		}
		return b.Layout(ctx)
	}())
}

// Write the multi-arch image index into dist/oci/<name>.
//
// With GANTRY_INDEX_FROM it merges the layouts built on other runners
// instead of building.
func Index(ctx context.Context) error {
	return forUser(func() error {
		b, err := load(ctx)
		if err != nil {
			return err
		}
		if len(b.Config.IndexFrom) == 0 {
			mg.CtxDeps(ctx, Layout)
		}
		return b.Index(ctx)
	}())
}

// Build, describe, sign and (with GANTRY_REPO) push every image.
//
// Runs vendor:check alongside compile:all, then layout, index, sbom and sign
// (when a signing key is set; otherwise it says it skipped signing), prints
// what was built, then pushes when GANTRY_REPO is set. Refuses a dirty work
// tree unless GANTRY_ALLOW_DIRTY=1. With GANTRY_INDEX_FROM (a split
// pipeline's merge job) it merges the layouts built elsewhere instead of
// building. Stdout gets only what a script reads: the pushed references,
// or offline, <layout dir>@<index digest> per image.
func Release(ctx context.Context) error {
	return forUser(func() error {
		b, err := load(ctx)
		if err != nil {
			return err
		}
		// One call, not mage dependencies: the pipeline runs vendor:check
		// alongside compile:all (mage would run them one after the other).
		return b.Release(ctx)
	}())
}

// Publish the images in dist/oci to GANTRY_REPO; never build.
//
// Blobs, then manifests, then tags; writes dist/metadata.json. Prints each
// pushed reference (repo@sha256:…) on stdout and everything else on stderr,
// so IMG=$(go tool mage push) holds exactly the pushed references.
func Push(ctx context.Context) error {
	return forUser(func() error {
		b, err := load(ctx)
		if err != nil {
			return err
		}
		return b.Push(ctx)
	}())
}

// Verify checks builds.
type Verify mg.Namespace

// Build twice in clean temp dirs and compare every digest.
//
// The two builds run at different paths with separate GOCACHEs, so a path
// or a cache leaking into an output shows.
func (Verify) Reproducible(ctx context.Context) error {
	return forUser(func() error {
		b, err := load(ctx)
		if err != nil {
			return err
		}
		return reproduce.Run(ctx, b, os.Stderr)
	}())
}

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

// Print the platforms of every image as a JSON array.
//
// For example ["linux/amd64","linux/arm64"]: the matrix of a split CI
// pipeline's build jobs.
func Platforms(ctx context.Context) error {
	return forUser(func() error {
		cfg, err := loadConfig()
		if err != nil {
			return err
		}
		var names []string
		for _, p := range cfg.Platforms() {
			names = append(names, platform.String(p))
		}
		out, err := json.Marshal(names)
		if err != nil {
			return err
		}
		fmt.Println(string(out))
		return nil
	}())
}
