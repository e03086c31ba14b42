package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/compile"
	"github.com/gantrybuild/gantry/targets/inject"
	"github.com/gantrybuild/gantry/targets/internal/shared"
	"github.com/gantrybuild/gantry/targets/platform"
	"github.com/gantrybuild/gantry/targets/vendorcheck"
)

// VendorCheck verifies every image's module dependencies.
func (b *Build) VendorCheck(ctx context.Context) error { return b.vendorCheck(ctx, b.opts.Log) }

func (b *Build) vendorCheck(ctx context.Context, log io.Writer) error {
	if err := b.makeOut(); err != nil {
		return err
	}
	done := map[string]bool{}
	for _, t := range b.Config.Images {
		if done[t.Dir] {
			continue
		}
		done[t.Dir] = true
		err := vendorcheck.Check(ctx, vendorcheck.Request{
			Dir: t.Dir, RequireVendor: b.Config.RequireVendor, GoBin: b.opts.GoBin, Env: b.env(), Log: log,
			CacheDir: b.cacheDir(),
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// vendorCheckAndCompile runs VendorCheck alongside Compile, which does not
// need its answer, so that the check costs no time of its own; a failed
// check stops the compile and is the error reported (the release then
// stops before layout, as when the check ran first).
func (b *Build) vendorCheckAndCompile(ctx context.Context) error {
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	log := shared.NewLockedWriter(b.opts.Log)
	checked := make(chan error, 1)
	go func() {
		err := b.vendorCheck(ctx, log)
		if err != nil {
			cancel(err)
		}
		checked <- err
	}()
	compileErr := b.compile(cctx, nil, log)
	if err := <-checked; err != nil {
		return err
	}
	return compileErr
}

// Compile builds every image for the given platforms (nil: the configured
// ones).
func (b *Build) Compile(ctx context.Context, only []v1.Platform) error {
	return b.compile(ctx, only, b.opts.Log)
}

func (b *Build) compile(ctx context.Context, only []v1.Platform, log io.Writer) error {
	if err := b.makeOut(); err != nil {
		return err
	}
	var reqs []compile.Request
	var problems []error
	// What -X sets, checked before anything builds: one go list for the
	// images of a module that share build settings.
	injReqs := make([]inject.Request, len(b.Config.Images))
	for i, t := range b.Config.Images {
		injReqs[i] = inject.ForImage(t, b.Config.Out, b.opts.GoBin, b.env())
	}
	plans, planErrs := inject.ResolveAll(ctx, injReqs)
	for i, t := range b.Config.Images {
		plats := t.Platforms
		if only != nil {
			plats = only
		}
		for _, p := range plats {
			if platform.FirstClass(p) {
				continue
			}
			supported, err := b.supportedPlatforms(ctx)
			if err != nil {
				return err
			}
			if err := platform.Check(p, supported); err != nil {
				return err
			}
		}
		plan, err := plans[i], planErrs[i]
		if err == nil {
			err = plan.Err()
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("image %s: %w", t.Name, err))
			continue
		}
		for _, n := range plan.Notes() {
			fmt.Fprintf(log, "inject: %s: %s\n", t.Name, n)
		}
		reqs = append(reqs, compile.Request{
			Dir:       t.Dir,
			Package:   t.Main,
			Name:      t.Name,
			OutDir:    b.binDir(),
			Platforms: plats,
			Vars:      plan.Vars(b.linkValues()),
			Ldflags:   t.Ldflags,
			Tags:      t.BuildTags,
			Vendor:    t.Vendor,
			GoBin:     b.opts.GoBin,
			Env:       b.env(),
			Jobs:      b.Config.Jobs,
			Log:       log,
			StampDir:  filepath.Join(b.cacheDir(), "compile"),
			Exclude:   b.outputs(),
		})
	}
	if len(problems) > 0 {
		return errors.Join(problems...)
	}
	start := time.Now()
	// Images of one module with the same settings build together: one go
	// build per platform (compile.RunAll).
	res, err := compile.RunAll(ctx, reqs)
	if err != nil {
		return err
	}
	var errs []error
	for i, t := range b.Config.Images {
		if res[i].Err != nil {
			errs = append(errs, fmt.Errorf("image %s: %w", t.Name, res[i].Err))
			continue
		}
		fmt.Fprintf(log, "compiled %s for %d platform(s) in %s\n", t.Name, len(reqs[i].Platforms), time.Since(start).Round(time.Millisecond))
	}
	return errors.Join(errs...)
}

// linkValues are the values injected, by role (see config.LinkVar).
func (b *Build) linkValues() map[string]string {
	return map[string]string{
		"version":    b.Version,
		"revision":   b.Git.Revision,
		"build time": b.Created.Format(time.RFC3339),
	}
}
