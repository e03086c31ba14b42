package pipeline

import (
	"context"
	"fmt"

	"github.com/gantrybuild/gantry/targets/internal/shared"
)

// Release runs every step in order: refuse a dirty tree, vendor check,
// compile, layout, index, sbom (unless GANTRY_SBOM=0), sign (when a key is
// configured; else it says it skipped signing); then prints the summary
// and, when a destination is configured, pushes. With Config.IndexFrom (the
// merge job of a split pipeline) the index merges the layouts built
// elsewhere instead of the vendor check, compile and layout, and the rest
// is the same. Options.Out gets what a script reads: the pushed references
// (see Push) or, offline, one line per image, <layout dir>@<index digest>.
func (b *Build) Release(ctx context.Context) error {
	if err := b.CheckClean(); err != nil {
		return err
	}
	if b.Config.Push.Enabled() {
		if err := b.CheckPush(); err != nil {
			return err
		}
	}
	if err := b.CheckSign(ctx); err != nil {
		return err
	}
	steps := []func(context.Context) error{
		b.vendorCheckAndCompile,
		b.Layout,
		b.Index,
		b.SBOMIfEnabled,
		b.SignIfConfigured,
	}
	if len(b.Config.IndexFrom) > 0 {
		// A split pipeline's merge job: the build jobs checked, compiled
		// and wrote the layouts; the rest is what release does.
		steps = []func(context.Context) error{
			b.Index,
			b.downloadForSBOM,
			b.SBOMIfEnabled,
			b.SignIfConfigured,
		}
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	s, err := b.Summarize()
	if err != nil {
		return err
	}
	PrintSummary(b.opts.Log, s)
	if b.Config.Push.Enabled() {
		return b.Push(ctx)
	}
	for _, img := range s {
		fmt.Fprintf(b.opts.Out, "%s@%s\n", shared.RelPath(img.Layout), img.Index)
	}
	return nil
}

// PrintSummary reads the layouts back and prints what was built.
func (b *Build) PrintSummary() error {
	s, err := b.Summarize()
	if err != nil {
		return err
	}
	PrintSummary(b.opts.Log, s)
	return nil
}
