// Package pipeline sequences Gantry's steps over a configuration:
// vendor check → compile → layout → index → sbom → sign → push, each
// delegated to the package that owns it (vendorcheck, compile, assemble,
// index, sbom, sign, push). It reads git once, maps the configuration to
// each step's request and the output directory's paths, and prints the
// summary; it owns no step's logic. Each step reads what the previous one
// left in the output directory, so a step can run in another process or on
// another CI runner.
package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/gitinfo"
	"github.com/gantrybuild/gantry/targets/internal/goenv"
	"github.com/gantrybuild/gantry/targets/ocidir"
	"github.com/gantrybuild/gantry/targets/platform"
	"github.com/gantrybuild/gantry/targets/sign"
)

// Options tune a Build.
type Options struct {
	Log   io.Writer     // progress and summary, for a person; nil means os.Stderr
	Out   io.Writer     // what a script reads (see Release, Push); nil means os.Stdout
	GoBin string        // the go command; "" means "go"
	Env   []string      // environment of child processes; nil means os.Environ()
	Git   *gitinfo.Info // use this instead of reading git (verify:reproducible builds copies)
}

// Build is one run over a configuration, with the source's git metadata read
// once.
type Build struct {
	Config  *config.Config
	Git     gitinfo.Info
	Version string    // image version: from git, "-dirty" when the tree is
	Created time.Time // SOURCE_DATE_EPOCH, else the commit time; never the wall clock

	opts          Options
	supportedOnce sync.Once
	supported     []v1.Platform
	supportedErr  error

	outOnce sync.Once
	outErr  error

	signerMu sync.Mutex
	signer   sign.Signer // the configured key, loaded once (a passphrase costs scrypt; a KMS a round trip)
}

// New reads git metadata for cfg and derives the version and created time.
func New(ctx context.Context, cfg *config.Config, opts Options) (*Build, error) {
	if opts.Log == nil {
		opts.Log = os.Stderr
	}
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.GoBin == "" {
		opts.GoBin = "go"
	}
	b := &Build{Config: cfg, opts: opts}
	if opts.Git != nil {
		b.Git = *opts.Git
	} else {
		dir := "."
		if len(cfg.Images) > 0 {
			dir = cfg.Images[0].Dir
		}
		ignore := append([]string{cfg.Out}, cfg.Sign.KeyFiles()...)
		// The go command's caches in the work tree (GitLab can cache only
		// paths inside the project) are not sources.
		if vars, err := goenv.Read(ctx, opts.GoBin, dir, b.env()); err == nil {
			ignore = append(ignore, vars.CacheDirs()...)
		}
		info, err := gitinfo.Read(dir, gitinfo.IgnorePaths(ignore...))
		if err != nil {
			return nil, fmt.Errorf("reading git metadata of %s: %w", dir, err)
		}
		b.Git = info
	}
	b.Version, b.Created = versionAndTime(b.Git, cfg.SourceDateEpoch)
	if !b.Git.Found {
		b.logf("warning: %s is not in a git repository: version %s, no revision; created %s (set SOURCE_DATE_EPOCH to choose it)\n",
			cfg.Images[0].Dir, b.Version, b.Created.Format(time.RFC3339))
	}
	return b, nil
}

// versionAndTime derives the image version and created time.
func versionAndTime(g gitinfo.Info, epoch *time.Time) (string, time.Time) {
	version := g.Version
	if !g.Found || version == "" {
		version = "v0.0.0-devel"
	}
	created := g.CommitTime.UTC()
	if epoch != nil {
		created = epoch.UTC()
	}
	if created.IsZero() {
		created = time.Unix(0, 0).UTC()
	}
	return version, created.Truncate(time.Second)
}

// CheckClean refuses a dirty work tree unless the configuration allows it.
func (b *Build) CheckClean() error {
	if b.Git.Dirty && !b.Config.AllowDirty {
		return fmt.Errorf("the work tree has uncommitted changes (%s), so the release would not match any commit: commit or stash them, or set GANTRY_ALLOW_DIRTY=1 to build %s anyway", strings.Join(b.Git.Changes, ", "), b.Version)
	}
	return nil
}

// makeOut creates the output directory, marked as Gantry's so that clean
// may remove it, before a step first writes into it.
func (b *Build) makeOut() error {
	b.outOnce.Do(func() { b.outErr = config.MakeOut(b.Config.Out) })
	return b.outErr
}

// outputs are the paths the compile shortcut leaves out of its inputs: the
// output directory when Gantry created it (it holds config.OutMarker), else
// only what Gantry writes there, so that files of the user's in an output
// directory inside the module stay inputs.
func (b *Build) outputs() []string {
	if _, err := os.Lstat(filepath.Join(b.Config.Out, config.OutMarker)); err == nil {
		return []string{b.Config.Out}
	}
	return []string{
		b.binDir(), b.cacheDir(), filepath.Join(b.Config.Out, "oci"), b.SBOMDir(),
		filepath.Join(b.Config.Out, MetadataFile), filepath.Join(b.Config.Out, config.OutMarker),
	}
}

func (b *Build) logf(format string, args ...any) { fmt.Fprintf(b.opts.Log, format, args...) }

func (b *Build) env() []string {
	if b.opts.Env != nil {
		return b.opts.Env
	}
	return os.Environ()
}

// supportedPlatforms asks the toolchain once per Build.
func (b *Build) supportedPlatforms(ctx context.Context) ([]v1.Platform, error) {
	b.supportedOnce.Do(func() {
		b.supported, b.supportedErr = platform.Supported(ctx, b.opts.GoBin)
	})
	return b.supported, b.supportedErr
}

// LayoutDir is where the OCI layout of an image is written.
func (b *Build) LayoutDir(t config.ResolvedImage) string {
	return filepath.Join(b.Config.Out, "oci", t.Name)
}

// openLayout opens the image's layout, remembering verified blobs in the
// cache directory so that an unchanged layer is not hashed on every run.
func (b *Build) openLayout(t config.ResolvedImage) (*ocidir.Dir, error) {
	return ocidir.Open(b.LayoutDir(t), ocidir.WithVerifyCache(filepath.Join(b.cacheDir(), "verified", t.Name+".txt")))
}

// BinaryPath is where the binary of an image for a platform is written.
func (b *Build) BinaryPath(t config.ResolvedImage, p v1.Platform) string {
	return filepath.Join(b.binDir(), t.Name+"_"+platform.FileSuffix(p)+platform.Exe(p))
}

func (b *Build) binDir() string   { return filepath.Join(b.Config.Out, "bin") }
func (b *Build) cacheDir() string { return filepath.Join(b.Config.Out, "cache") }

// Options returns the options b was made with.
func (b *Build) Options() Options { return b.opts }
