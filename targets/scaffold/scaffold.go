// Package scaffold sets up Gantry in a consumer repository (`mage init`): it
// writes a magefile that imports the kit, a CI pipeline from templates/ and
// optionally a Dockerfile, adds the mage tool directive and the kit to
// go.mod, and never replaces a file unless told to.
package scaffold

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/templates"
)

// MagefilePath is where init writes the magefile, relative to the repository.
const MagefilePath = "magefiles/magefile.go"

// mageModule is the tool directive init adds.
const mageModule = "github.com/magefile/mage"

type options struct {
	template   string
	force      bool
	dockerfile bool
	kit        Kit
	tidy       bool
	env        []string // for go mod tidy; nil: the process environment
	out        io.Writer
}

// Option configures Init.
type Option func(*options) error

// WithTemplate picks the CI pipeline (templates.CIs, or templates.NoCI).
func WithTemplate(name string) Option {
	return func(o *options) error {
		if name != templates.NoCI {
			if _, err := templates.LookupCI(name); err != nil {
				return err
			}
		}
		o.template = name
		return nil
	}
}

// WithForce lets Init replace files that exist.
func WithForce(force bool) Option { return func(o *options) error { o.force = force; return nil } }

// WithDockerfile makes Init also write a Dockerfile for docker buildx.
func WithDockerfile(on bool) Option { return func(o *options) error { o.dockerfile = on; return nil } }

// WithKit sets the Gantry go.mod requires: Version(v), or Running's (a
// replace directive when it runs from a clone). Init needs it.
func WithKit(k Kit) Option {
	return func(o *options) error {
		d, err := absDir(k.Dir)
		if err != nil {
			return err
		}
		k.Dir = d
		o.kit = k
		return nil
	}
}

// WithTidy runs `go mod tidy` after editing go.mod (default on), with env
// added to the process environment.
func WithTidy(on bool, env ...string) Option {
	return func(o *options) error {
		o.tidy = on
		if len(env) > 0 {
			o.env = append(os.Environ(), env...)
		}
		return nil
	}
}

// WithOutput is where Init says what it did (default stdout).
func WithOutput(w io.Writer) Option { return func(o *options) error { o.out = w; return nil } }

// Options turns init's environment settings into options.
func Options(s config.Scaffold) []Option {
	opts := []Option{WithTemplate(s.Template), WithForce(s.Force), WithDockerfile(s.Dockerfile)}
	if s.Kit != "" {
		opts = append(opts, WithKit(Version(s.Kit)))
	}
	return opts
}

// InitConfigured is Init with init's environment settings (mage init and
// gantry-init): without GANTRY_KIT, the kit is the Gantry module of the
// program running, found from the current directory (see Running).
func InitConfigured(ctx context.Context, dir string, s config.Scaffold) error {
	opts := Options(s)
	if s.Kit == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		kit, err := Running(ctx, wd)
		if err != nil {
			return err
		}
		opts = append(opts, WithKit(kit))
	}
	return Init(ctx, dir, opts...)
}

// file is one file Init writes.
type file struct {
	path    string // relative to the repository, slash-separated
	content []byte
}

// Init sets up Gantry in the Go module at dir.
func Init(ctx context.Context, dir string, opts ...Option) error {
	o := options{template: config.DefaultTemplate, tidy: true, out: os.Stdout}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return err
		}
	}
	if o.kit.Version == "" {
		return errors.New("scaffold: no Gantry version to require (WithKit)")
	}
	gomodPath := filepath.Join(dir, "go.mod")
	raw, err := os.ReadFile(gomodPath)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s has no go.mod: run `go mod init <module path>` there first", dir)
	}
	if err != nil {
		return err
	}
	mf, err := modfile.Parse(gomodPath, raw, nil)
	if err != nil {
		return err
	}
	if mf.Module == nil {
		return fmt.Errorf("%s has no module directive", gomodPath)
	}
	d := dataFor(mf, o.template)
	files, err := render(d, o)
	if err != nil {
		return err
	}
	var exist []string
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.path))); err == nil {
			exist = append(exist, f.path)
		}
	}
	if len(exist) > 0 && !o.force {
		return fmt.Errorf("refusing to overwrite %s in %s: move them away, or set GANTRY_INIT_FORCE=1 to replace them", strings.Join(exist, ", "), dir)
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.content, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(o.out, "wrote %s\n", f.path)
	}
	if added, err := ignoreDist(dir); err != nil {
		return err
	} else if added {
		fmt.Fprintln(o.out, "added /dist/ to .gitignore")
	}
	if err := editGoMod(gomodPath, mf, o.kit); err != nil {
		return err
	}
	fmt.Fprintf(o.out, "go.mod: tool %s, require %s\n", mageModule, o.kit)
	if o.kit.Dir != "" {
		if err := mergeGoSum(dir, o.kit.Dir); err != nil {
			return err
		}
		fmt.Fprintf(o.out, "go.mod: replace %s => %s (for development; before you publish, drop it and run `go get %s@<version>`)\n", KitModule, o.kit.Dir, KitModule)
	}
	if o.tidy {
		cmd := exec.CommandContext(ctx, "go", "mod", "tidy")
		cmd.Dir, cmd.Env = dir, o.env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go mod tidy in %s: %w\n%s", dir, err, out)
		}
		fmt.Fprintln(o.out, "ran go mod tidy")
	}
	fmt.Fprintf(o.out, "\nnext, in %s:\n  go tool mage release    # builds %s for %s into dist/oci/%s\n  go tool mage -l         # every target\n", dir, d.Image, strings.Join(d.Platforms, ", "), d.Image)
	if o.template != templates.NoCI {
		fmt.Fprintln(o.out, "  git add -A && git commit -m 'Build images with Gantry'   # then push: the CI pipeline releases")
	}
	return nil
}

// dataFor derives the template data from the consumer's go.mod.
func dataFor(mf *modfile.File, template string) templates.Data {
	mod := mf.Module.Mod.Path
	d := templates.Data{
		Module:    mod,
		Image:     imageName(mod),
		Platforms: config.DefaultPlatforms,
		GoVersion: "1.26",
	}
	if mf.Go != nil {
		if parts := strings.SplitN(mf.Go.Version, ".", 3); len(parts) >= 2 {
			d.GoVersion = parts[0] + "." + parts[1]
		}
	}
	// GitHub's own registry: ghcr.io/<owner>/<repo>, lowercase as it requires.
	if elems := strings.Split(mod, "/"); strings.HasPrefix(template, "github") && len(elems) >= 3 && elems[0] == "github.com" {
		d.Repo = strings.ToLower("ghcr.io/" + elems[1] + "/" + elems[2])
	}
	return d
}

// imageName is the image name Gantry derives from a module path: its last
// element (skipping a major version suffix), lowercase.
func imageName(mod string) string {
	base := path.Base(mod)
	if len(base) > 1 && base[0] == 'v' && strings.Trim(base[1:], "0123456789") == "" {
		base = path.Base(path.Dir(mod))
	}
	return strings.ToLower(base)
}

func render(d templates.Data, o options) ([]file, error) {
	mage, err := templates.Magefile(d)
	if err != nil {
		return nil, err
	}
	files := []file{{MagefilePath, mage}}
	if o.template != templates.NoCI {
		ci, err := templates.LookupCI(o.template)
		if err != nil {
			return nil, err
		}
		b, err := ci.Render(d)
		if err != nil {
			return nil, err
		}
		files = append(files, file{ci.Path, b})
	}
	if o.dockerfile {
		b, err := templates.Dockerfile(d)
		if err != nil {
			return nil, err
		}
		files = append(files, file{"Dockerfile", b})
	}
	return files, nil
}

// ignoreDist adds /dist/ to .gitignore unless it is there.
func ignoreDist(dir string) (bool, error) {
	p := filepath.Join(dir, ".gitignore")
	raw, err := os.ReadFile(p)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if l = strings.TrimSpace(l); l == "/dist/" || l == "dist/" || l == "/dist" || l == "dist" {
			return false, nil
		}
	}
	if len(raw) > 0 && !bytes.HasSuffix(raw, []byte("\n")) {
		raw = append(raw, '\n')
	}
	return true, os.WriteFile(p, append(raw, "/dist/\n"...), 0o644)
}
