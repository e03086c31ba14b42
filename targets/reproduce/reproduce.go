// Package reproduce checks that a build is reproducible: it builds the same
// source twice, in separate temporary directories at different paths with
// separate Go build caches, and compares every digest.
package reproduce

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/pipeline"
)

// Run builds b's images twice from copies of their sources and compares the
// results. On success it prints each image's index digest; on failure it
// returns an error naming the differing blobs and files.
func Run(ctx context.Context, b *pipeline.Build, log io.Writer) error {
	tmp, err := os.MkdirTemp("", "gantry-reproduce-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// Different depths and names, so any path leaking into an output shows.
	roots := []string{filepath.Join(tmp, "a"), filepath.Join(tmp, "b", "elsewhere", "deeper")}
	var outs []*pipeline.Build
	for i, root := range roots {
		fmt.Fprintf(log, "build %d of 2 in %s\n", i+1, root)
		ob, err := buildCopy(ctx, b, root)
		if err != nil {
			return fmt.Errorf("build %d of 2: %w", i+1, err)
		}
		outs = append(outs, ob)
	}
	var failures []string
	for i, t := range b.Config.Images {
		da := outs[0].LayoutDir(outs[0].Config.Images[i])
		db := outs[1].LayoutDir(outs[1].Config.Images[i])
		d, err := Compare(da, db)
		if err != nil {
			return err
		}
		if d.Equal() {
			fmt.Fprintf(log, "reproducible: %s %s %s (%d blobs identical)\n", t.Name, b.Version, d.IndexA, d.Blobs)
			continue
		}
		failures = append(failures, fmt.Sprintf("%s: %s", t.Name, d))
	}
	if len(failures) > 0 {
		return fmt.Errorf("the build is not reproducible:\n%s", strings.Join(failures, "\n"))
	}
	return nil
}

// buildCopy copies every image's module to root and builds it there with its
// own output directory and GOCACHE.
func buildCopy(ctx context.Context, b *pipeline.Build, root string) (*pipeline.Build, error) {
	cfg := *b.Config
	cfg.Out = filepath.Join(root, "dist")
	cfg.IndexFrom = nil
	cfg.Images = append([]config.ResolvedImage(nil), b.Config.Images...)
	copied := map[string]string{}
	for i, t := range cfg.Images {
		dst, ok := copied[t.Dir]
		if !ok {
			dst = filepath.Join(root, "src", fmt.Sprint(len(copied)), filepath.Base(t.Dir))
			if err := copyTree(t.Dir, dst, b.Config.Out); err != nil {
				return nil, fmt.Errorf("copying %s: %w", t.Dir, err)
			}
			copied[t.Dir] = dst
		}
		cfg.Images[i].Dir = dst
	}
	opts := b.Options()
	env := opts.Env
	if env == nil {
		env = os.Environ()
	}
	env = append(env[:len(env):len(env)], "GOCACHE="+filepath.Join(root, "gocache"))
	git := b.Git
	nb, err := pipeline.New(ctx, &cfg, pipeline.Options{Log: io.Discard, GoBin: opts.GoBin, Env: env, Git: &git})
	if err != nil {
		return nil, err
	}
	if err := nb.Compile(ctx, nil); err != nil {
		return nil, err
	}
	if err := nb.Layout(ctx); err != nil {
		return nil, err
	}
	if err := nb.Index(ctx); err != nil {
		return nil, err
	}
	return nb, nil
}

// copyTree copies regular files, directories and symlinks (a kodata/ link
// goes into the image as a link) from src to dst, skipping .git and the
// output directory skip.
func copyTree(src, dst, skip string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || p == skip) {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(p, target)
		case d.Type()&os.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		}
		return nil
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
