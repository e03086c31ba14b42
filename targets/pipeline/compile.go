package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/compile"
	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/platform"
	"github.com/gantrybuild/gantry/targets/vendorcheck"
)

// VendorCheck verifies every image's module dependencies.
func (b *Build) VendorCheck(ctx context.Context) error {
	done := map[string]bool{}
	for _, t := range b.Config.Images {
		if done[t.Dir] {
			continue
		}
		done[t.Dir] = true
		err := vendorcheck.Check(ctx, vendorcheck.Request{
			Dir: t.Dir, RequireVendor: b.Config.RequireVendor, GoBin: b.opts.GoBin, Env: b.env(), Log: b.opts.Log,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Compile builds every image for the given platforms (nil: the configured
// ones).
func (b *Build) Compile(ctx context.Context, only []v1.Platform) error {
	supported, err := b.supportedPlatforms(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range b.Config.Images {
		plats := t.Platforms
		if only != nil {
			plats = only
		}
		for _, p := range plats {
			if err := platform.Check(p, supported); err != nil {
				return err
			}
		}
		start := time.Now()
		_, err := compile.Run(ctx, compile.Request{
			Dir:       t.Dir,
			Package:   t.Main,
			Name:      t.Name,
			OutDir:    b.binDir(),
			Platforms: plats,
			Vars:      b.linkVars(t),
			Ldflags:   t.Ldflags,
			Tags:      t.BuildTags,
			Vendor:    t.Vendor,
			GoBin:     b.opts.GoBin,
			Env:       b.env(),
			Jobs:      b.Config.Jobs,
			Log:       b.opts.Log,
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("image %s: %w", t.Name, err))
			continue
		}
		b.logf("compiled %s for %d platform(s) in %s\n", t.Name, len(plats), time.Since(start).Round(time.Millisecond))
	}
	return errors.Join(errs...)
}

// linkVars are the -X values injected into the binary.
func (b *Build) linkVars(t config.Target) map[string]string {
	vars := map[string]string{}
	for name, value := range map[string]string{
		t.VersionVar:   b.Version,
		t.RevisionVar:  b.Git.Revision,
		t.BuildTimeVar: b.Created.Format(time.RFC3339),
	} {
		if name != "-" && name != "" && value != "" {
			vars[name] = value
		}
	}
	return vars
}
