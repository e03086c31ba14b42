package pipeline

import "context"

// Release runs every step in order: refuse a dirty tree, vendor check,
// compile, layout, index; then prints the summary.
func (b *Build) Release(ctx context.Context) error {
	if err := b.CheckClean(); err != nil {
		return err
	}
	steps := []func(context.Context) error{
		b.VendorCheck,
		func(ctx context.Context) error { return b.Compile(ctx, nil) },
		b.Layout,
		b.Index,
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return b.PrintSummary()
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
