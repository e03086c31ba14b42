// Package scaffold sets up Gantry in a consumer repository (`go tool mage init`): it
// writes a magefile that imports the kit, the build module magefiles/go.mod
// that requires it (the application's go.mod is not touched), a CI pipeline
// from templates/ and optionally a Dockerfile, and never replaces a file
// unless told to.
package scaffold

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

// WithTidy runs `go mod tidy` in the build module magefiles/ after writing
// it (default on), with env added to the process environment.
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

// TargetsPath is where init writes the targets (templates.Targets).
const TargetsPath = "magefiles/gantry.go"

// Mage is how a consumer runs mage: from the repository's root, through
// mage's tool directive in the application's go.mod. The magefile imports
// only Gantry's small front package (targets/gantry), which mage's compile
// resolves through magefiles/go.mod; the engine builds from there too.
const Mage = templates.DefaultMage

// Init sets up Gantry in the Go module at dir, leaving what the application
// builds and ships as it was: the kit, its dependencies and mage's tool
// directive go into a build module of their own, magefiles/go.mod, and the
// application's go.mod, go.sum and vendor/ are not touched.
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
	if err := checkVersion(o.kit.Version); err != nil {
		return err
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
	mains := config.FindMains(dir)
	if len(mains) == 0 {
		return fmt.Errorf("no main package in %s: init makes one image per main package at the module root and under ./cmd/; for a main elsewhere, write magefiles/magefile.go and magefiles/go.mod by hand (README, \"By hand\")", dir)
	}
	vendored := false
	if _, err := os.Stat(filepath.Join(dir, "vendor", "modules.txt")); err == nil {
		vendored = true
	}
	appGo := ""
	if mf.Go != nil {
		appGo = mf.Go.Version
	}
	kitGo := ""
	if o.kit.Dir != "" {
		if kitGo, err = goLine(filepath.Join(o.kit.Dir, "go.mod")); err != nil {
			return fmt.Errorf("reading the kit's go line: %w", err)
		}
	}
	buildGo := maxGo(appGo, kitGo)
	if buildGo == "" {
		buildGo = strings.TrimPrefix(runtime.Version(), "go")
	}

	kitMod, err := kitGoMod(mf.Module.Mod.Path, buildGo, o.kit)
	if err != nil {
		return err
	}
	// `go tool mage` from the root needs mage's tool directive in the
	// application's go.mod; a vendored application would have to vendor
	// it, and a go line before 1.24 knows no tool directives: those run
	// mage in the build module instead.
	rootTool, why := rootToolOK(mf, vendored)
	d := dataFor(mf, o.template, mains, buildGo)
	if !rootTool {
		d.Mage = templates.BuildModuleMage
	}
	branchWhy := ""
	if strings.HasPrefix(o.template, "github") {
		d.Branch, branchWhy = defaultBranch(ctx, dir, o.env)
	}
	files, err := render(d, o)
	if err != nil {
		return err
	}
	files = append(files, file{KitGoModPath, kitMod}, file{TargetsPath, templates.Targets()})
	var exist []string
	for _, f := range append(files, file{path: "magefiles/go.sum"}) {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.path))); err == nil {
			exist = append(exist, f.path)
		}
	}
	if len(exist) > 0 && !o.force {
		return fmt.Errorf("refusing to overwrite %s in %s: move them away, or set GANTRY_INIT_FORCE=1 to replace them", strings.Join(exist, ", "), dir)
	}
	var wrote []string
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.content, 0o644); err != nil {
			return err
		}
		wrote = append(wrote, f.path)
	}
	if added, err := ignoreDist(dir); err != nil {
		return err
	} else if added {
		wrote = append(wrote, ".gitignore")
	}

	// The build module: its requirements and checksums.
	magefiles := filepath.Join(dir, "magefiles")
	kitSum := filepath.Join(magefiles, "go.sum")
	if o.kit.Dir != "" {
		if err := mergeGoSum(kitSum, o.kit.Dir); err != nil {
			return err
		}
	}
	if o.tidy {
		cmd := exec.CommandContext(ctx, "go", "mod", "tidy")
		cmd.Dir, cmd.Env = magefiles, o.env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go mod tidy in %s: %w\n%s", magefiles, err, out)
		}
	}
	if _, err := os.Stat(kitSum); err == nil {
		wrote = append(wrote, "magefiles/go.sum")
	}
	if buildGo, err = goLine(filepath.Join(dir, filepath.FromSlash(KitGoModPath))); err != nil {
		return err
	}
	if rootTool {
		if err := addMageTool(ctx, dir, o.env); err != nil {
			// Run mage in the build module instead: the pipeline and the
			// magefile's comment name that command.
			why = err.Error()
			d.Mage = templates.BuildModuleMage
			again, rerr := render(d, o)
			if rerr != nil {
				return rerr
			}
			for _, f := range again {
				if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(f.path)), f.content, 0o644); err != nil {
					return err
				}
			}
			rootTool = false
		} else {
			wrote = append(wrote, "go.mod", "go.sum")
		}
	}
	for _, f := range wrote {
		if f == "go.mod" || f == "go.sum" {
			continue
		}
		fmt.Fprintf(o.out, "wrote %s\n", f)
	}
	fmt.Fprintf(o.out, "\nimages: %s\n", imagesLine(d.Images))
	fmt.Fprintf(o.out, "build module: magefiles/go.mod (module %s/magefiles, go %s) requires %s and its dependencies; the application's build never reads it\n", mf.Module.Mod.Path, buildGo, o.kit)

	if rootTool {
		fmt.Fprintf(o.out, "go.mod: gained only mage's tool directive (mage's module has no dependencies: the application's build list and binaries keep every version); go.sum: mage's checksums\n")
	} else {
		fmt.Fprintf(o.out, "go.mod, go.sum%s: unchanged; run mage as `%s` (%s)\n", map[bool]string{true: ", vendor/", false: ""}[vendored], d.Mage, why)
	}
	if gw := goWork(ctx, dir, o.env); gw != "" {
		fmt.Fprintf(o.out, "note: %s is a workspace file; magefiles/ is not in it, so run mage with GOWORK=off (adding ./magefiles to it would put the kit's requirements into the application's build list)\n", gw)
	}

	// Next steps, in the order that works: release refuses a dirty tree,
	// and CI sees only what is committed and resolvable.
	fmt.Fprintf(o.out, "\nnext, in %s:\n", dir)
	step := 1
	if o.kit.Dir != "" {
		fmt.Fprintf(o.out, "  %d. magefiles/go.mod replaces %s with the local clone %s, which CI cannot see: before you push, require a published version\n       go -C magefiles mod edit -dropreplace=%s && go -C magefiles get %s@<version>\n     (or keep the clone inside the repository, e.g. as a git submodule, and make the replace a relative path)\n", step, KitModule, o.kit.Dir, KitModule, KitModule)
		step++
	}
	add := []string{"magefiles"}
	for _, f := range wrote {
		if !strings.HasPrefix(f, "magefiles/") {
			add = append(add, f)
		}
	}
	fmt.Fprintf(o.out, "  %d. git add %s && git commit -m 'Build images with Gantry'   # release refuses uncommitted changes\n", step, strings.Join(add, " "))
	step++
	fmt.Fprintf(o.out, "  %d. %s release    # builds %s for %s into dist/oci/\n", step, d.Mage, imageNames(d.Images), strings.Join(d.Platforms, ", "))
	step++
	if o.template != templates.NoCI {
		ci, _ := templates.LookupCI(o.template)
		fmt.Fprintf(o.out, "  %d. git push    # %s then builds on CI\n", step, ci.Path)
	}
	fmt.Fprintf(o.out, "  (%s -l lists every target; %s config shows every setting, and where the version is injected)\n", d.Mage, d.Mage)
	if branchWhy != "" {
		fmt.Fprintf(o.out, "  (the pipeline publishes on pushes to %s, %s, and on v* tags: edit its branches line to change that)\n", d.Branch, branchWhy)
	}
	return nil
}

// goWork is the workspace file the go command would use in dir ("" for
// none).
func goWork(ctx context.Context, dir string, env []string) string {
	cmd := exec.CommandContext(ctx, "go", "env", "GOWORK")
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	if gw := strings.TrimSpace(string(out)); gw != "off" {
		return gw
	}
	return ""
}

// dataFor derives the template data from the consumer's go.mod and its
// main packages.
func dataFor(mf *modfile.File, template string, mains []string, buildGo string) templates.Data {
	mod := mf.Module.Mod.Path
	d := templates.Data{
		Module:       mod,
		Platforms:    config.DefaultPlatforms(),
		GoVersion:    majorMinor(buildGo),
		KitGoVersion: majorMinor(buildGo),
		Mage:         Mage,
	}
	if mf.Go != nil {
		d.GoVersion = majorMinor(mf.Go.Version)
	}
	for _, m := range mains {
		img := templates.Image{Name: config.DefaultImageName(mod, m), Main: m}
		if len(mains) == 1 && m == "." {
			img.Main = ""
		}
		d.Images = append(d.Images, img)
	}
	d.Image, d.Main = d.Images[0].Name, d.Images[0].Main
	// GitHub's own registry: ghcr.io/<owner>/<repo>, lowercase as it requires.
	if elems := strings.Split(mod, "/"); strings.HasPrefix(template, "github") && len(elems) >= 3 && elems[0] == "github.com" {
		d.Repo = strings.ToLower("ghcr.io/" + elems[1] + "/" + elems[2])
	}
	return d
}

func imagesLine(images []templates.Image) string {
	var parts []string
	for _, img := range images {
		m := img.Main
		if m == "" {
			m = "."
		}
		parts = append(parts, img.Name+" (from "+m+")")
	}
	s := strings.Join(parts, ", ")
	if len(images) > 1 {
		s += ": one image per main package at the root and under ./cmd/; edit magefiles/magefile.go to drop or add one"
	}
	return s
}

func imageNames(images []templates.Image) string {
	var names []string
	for _, img := range images {
		names = append(names, img.Name)
	}
	return strings.Join(names, ", ")
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

// defaultBranch is the branch a GitHub pipeline publishes from (GitHub
// workflows cannot name the default branch): origin's default branch,
// else the branch checked out, else templates.DefaultBranch. why says
// which it is.
func defaultBranch(ctx context.Context, dir string, env []string) (branch, why string) {
	ref := func(name string) string {
		cmd := exec.CommandContext(ctx, "git", "-C", dir, "symbolic-ref", "--quiet", "--short", name)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	if b, ok := strings.CutPrefix(ref("refs/remotes/origin/HEAD"), "origin/"); ok && b != "" {
		return b, "origin's default branch"
	}
	if b := ref("HEAD"); b != "" {
		return b, "the branch checked out"
	}
	return templates.DefaultBranch, "as no git branch was found"
}
