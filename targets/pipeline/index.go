package pipeline

import (
	"context"
	"fmt"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/index"
)

// Index writes, for every image, the multi-arch image index over the
// platform images of its layout (merged first from Config.IndexFrom when
// set) and names it <version> in index.json.
func (b *Build) Index(ctx context.Context) error {
	if err := b.makeOut(); err != nil {
		return err
	}
	for _, t := range b.Config.Images {
		if err := b.indexImage(ctx, t); err != nil {
			return fmt.Errorf("image %s: %w", t.Name, err)
		}
	}
	return nil
}

func (b *Build) indexImage(ctx context.Context, t config.ResolvedImage) error {
	store, err := b.openLayout(t)
	if err != nil {
		return err
	}
	unlock, err := store.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	var from []string
	if len(b.Config.IndexFrom) > 0 {
		var names []string
		for _, o := range b.Config.Images {
			names = append(names, o.Name)
		}
		if from, err = index.LayoutsFor(b.Config.IndexFrom, t.Name, names); err != nil {
			return err
		}
	}
	_, err = index.Write(ctx, store, index.Request{
		From: from, Platforms: t.Platforms,
		Revision: b.Git.Revision, Version: b.Version, AllowDirty: b.Config.AllowDirty,
	})
	return err
}
