package targets

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/magefile/mage/mg"

	"github.com/gantrybuild/gantry/targets/platform"
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
