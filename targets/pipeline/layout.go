package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/assemble"
	"github.com/gantrybuild/gantry/targets/assets"
	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/index"
	"github.com/gantrybuild/gantry/targets/internal/goenv"
	"github.com/gantrybuild/gantry/targets/internal/shared"
	"github.com/gantrybuild/gantry/targets/ocidir"
	"github.com/gantrybuild/gantry/targets/platform"
)

// Layout assembles every image's platform images from the compiled binaries
// and writes them into the image's OCI layout, each manifest named
// <version>-<arch>[<variant>] in index.json.
func (b *Build) Layout(ctx context.Context) error {
	for _, t := range b.Config.Images {
		if err := b.layoutImage(ctx, t); err != nil {
			return fmt.Errorf("image %s: %w", t.Name, err)
		}
	}
	return nil
}

func (b *Build) layoutImage(ctx context.Context, t config.ResolvedImage) error {
	for _, p := range t.Platforms {
		bin := b.BinaryPath(t, p)
		if _, err := os.Stat(bin); err != nil {
			return &shared.NeedStep{
				Err: fmt.Errorf("no binary for %s at %s", platform.String(p), bin),
				Fix: "run {compile:all} (or {compile:platform " + platform.String(p) + "}) first",
			}
		}
	}
	// The files every platform carries, resolved and hashed once.
	files, err := assets.Resolve(t.Dir, t.FileSpecs(), assets.Options{MaxFileSize: t.MaxFileSize})
	if err != nil {
		return err
	}
	if err := assets.Sum(ctx, files, filepath.Join(b.cacheDir(), "layers", "files-"+t.Name+".stat.txt")); err != nil {
		return err
	}
	store, err := b.openLayout(t)
	if err != nil {
		return err
	}
	unlock, err := store.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()

	descs := make([]v1.Descriptor, len(t.Platforms))
	errs := make([]error, len(t.Platforms))
	var wg sync.WaitGroup
	for i, p := range t.Platforms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			descs[i], errs[i] = b.platformImage(ctx, store, t, p, files)
		}()
	}
	wg.Wait()
	if err := platformErrors(t.Platforms, errs); err != nil {
		return err
	}
	return index.WritePlatforms(store, b.Version, descs)
}

func (b *Build) platformImage(ctx context.Context, store *ocidir.Dir, t config.ResolvedImage, p v1.Platform, files []assets.Entry) (v1.Descriptor, error) {
	opts := []assemble.BaseOption{
		assemble.WithStore(store), assemble.WithCacheDir(b.cacheDir()),
		assemble.WithCompression(b.Config.Compression), assemble.WithGoBin(b.opts.GoBin),
	}
	spec := t.BaseFor(p)
	if spec == "" || spec == "static" {
		// The static base's tzdata comes from GOROOT, as compile's go
		// command sees it (read once per process).
		if vars, err := goenv.Read(ctx, b.opts.GoBin, t.Dir, b.env()); err == nil {
			opts = append(opts, assemble.WithGOROOT(vars.GOROOT))
		}
	}
	base, err := assemble.ResolveBase(ctx, spec, p, opts...)
	if err != nil {
		return v1.Descriptor{}, err
	}
	meta := b.meta(t, base)
	img, err := assemble.Image(ctx, assemble.Request{
		Store:       store,
		Binary:      b.BinaryPath(t, p),
		Name:        t.Name,
		BinDir:      t.BinDirFor(p),
		Platform:    p,
		Base:        base,
		User:        t.UserFor(p),
		Created:     b.Created,
		Labels:      merge(index.Annotations(meta), t.Labels),
		Annotations: index.Annotations(meta),
		Compression: b.Config.Compression,
		CacheDir:    b.cacheDir(),
		Files:       files,
		FilesTime:   filesTime(b.Config.SourceDateEpoch),
		Env:         t.EnvList(platform.IsWindows(p)),
		Cmd:         t.Args,
		WorkingDir:  t.WorkingDir,
		Ports:       t.Ports,
		StopSignal:  t.StopSignal,
	})
	if err != nil {
		return v1.Descriptor{}, err
	}
	desc, err := store.WriteImage(ctx, img)
	if err != nil {
		return v1.Descriptor{}, err
	}
	// p, with a windows base's os.version and os.features, which runtimes
	// match on the host's build.
	if desc.Platform != nil {
		p.OSVersion, p.OSFeatures = desc.Platform.OSVersion, desc.Platform.OSFeatures
	}
	desc.Platform = &p
	return desc, nil
}

// filesTime is the files layer's mtime: SOURCE_DATE_EPOCH when set, else
// the zero time (assemble: the Unix epoch, not the commit time).
func filesTime(epoch *time.Time) time.Time {
	if epoch == nil {
		return time.Time{}
	}
	return *epoch
}

func (b *Build) meta(t config.ResolvedImage, base assemble.Base) index.Meta {
	m := index.Meta{
		Created:  b.Created,
		Version:  b.Version,
		Revision: b.Git.Revision,
		Source:   b.Git.Source,
		Title:    t.Name,
		BaseName: base.Name,
	}
	if base.Digest != (v1.Hash{}) {
		m.BaseDigest = base.Digest.String()
	}
	return m
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// platformErrors joins per-platform errors, each naming its platform; an
// error every platform shares (a bad base, say) is reported once.
func platformErrors(plats []v1.Platform, errs []error) error {
	var failed []error
	same := true
	for i, err := range errs {
		if err == nil {
			same = false
			continue
		}
		if errs[0] == nil || err.Error() != errs[0].Error() {
			same = false
		}
		failed = append(failed, fmt.Errorf("%s: %w", platform.String(plats[i]), err))
	}
	if same && len(failed) > 1 {
		return errs[0]
	}
	return errors.Join(failed...)
}
