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

// All cross-compiles every image for every configured platform into dist/bin (CGO off, -trimpath, stripped, version injected).
func (Compile) All(ctx context.Context) error { return compileFor(ctx, nil) }

// Amd64 compiles every image for linux/amd64 only.
func (Compile) Amd64(ctx context.Context) error { return compileFor(ctx, []string{"linux/amd64"}) }

// Arm64 compiles every image for linux/arm64 only.
func (Compile) Arm64(ctx context.Context) error { return compileFor(ctx, []string{"linux/arm64"}) }

// Platform compiles every image for one platform such as linux/arm/v7 or linux/amd64/v3.
func (Compile) Platform(ctx context.Context, p string) error { return compileFor(ctx, []string{p}) }

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

// Check runs go mod verify and, when vendor/ exists, checks it matches go.mod and go.sum exactly.
func (Vendor) Check(ctx context.Context) error {
	b, err := load(ctx)
	if err != nil {
		return err
	}
	return b.VendorCheck(ctx)
}

// Layout compiles, then writes each platform image into the OCI layout dist/oci/<name>.
func Layout(ctx context.Context) error {
	mg.CtxDeps(ctx, Compile.All)
	b, err := load(ctx)
	if err != nil {
		return err
	}
	return b.Layout(ctx)
}

// Index writes the multi-arch image index into dist/oci/<name>; with GANTRY_INDEX_FROM it merges layouts built elsewhere instead of building.
func Index(ctx context.Context) error {
	b, err := load(ctx)
	if err != nil {
		return err
	}
	if len(b.Config.IndexFrom) == 0 {
		mg.CtxDeps(ctx, Layout)
	}
	return b.Index(ctx)
}

// Release runs vendor:check, compile:all, layout, index, sbom and sign (when GANTRY_SIGN_KEY is set), prints what was built, then pushes when GANTRY_REPO is set (refuses a dirty tree unless GANTRY_ALLOW_DIRTY=1); with GANTRY_INDEX_FROM (a split pipeline's merge job) it merges the layouts built elsewhere instead of building.
func Release(ctx context.Context) error {
	b, err := load(ctx)
	if err != nil {
		return err
	}
	// One call, not mage dependencies: the pipeline runs vendor:check
	// alongside compile:all (mage would run them one after the other).
	return b.Release(ctx)
}

// Push publishes the image indexes in dist/oci to GANTRY_REPO (never builds): blobs, manifests, then tags; writes dist/metadata.json.
func Push(ctx context.Context) error {
	b, err := load(ctx)
	if err != nil {
		return err
	}
	return b.Push(ctx)
}

// Verify checks builds.
type Verify mg.Namespace

// Reproducible builds everything twice in separate temp dirs (own GOCACHE, different paths) and compares every digest.
func (Verify) Reproducible(ctx context.Context) error {
	b, err := load(ctx)
	if err != nil {
		return err
	}
	return reproduce.Run(ctx, b, os.Stderr)
}

// Clean removes the output directory (dist/) when Gantry created it (it holds Gantry's .gantry marker), and says what it removed.
func Clean(ctx context.Context) error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	return config.Clean(cfg.Out, os.Stderr)
}

// Platforms prints the configured platforms of every image as a JSON array, e.g. ["linux/amd64","linux/arm64"]: the matrix of a split CI pipeline's build jobs.
func Platforms(ctx context.Context) error {
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
}
