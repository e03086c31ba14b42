package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/internal/goenv"
	"github.com/gantrybuild/gantry/targets/internal/shared"
	"github.com/gantrybuild/gantry/targets/ocidir"
	"github.com/gantrybuild/gantry/targets/sbom"
)

// SBOMDir is where the SBOM step leaves the documents as files.
func (b *Build) SBOMDir() string { return filepath.Join(b.Config.Out, "sbom") }

// SBOM describes every image's layout (what index wrote): an SPDX SBOM and
// a SLSA provenance of each platform image and an SBOM of the index,
// attached as referrers (which sign then attests) and left in dist/sbom.
func (b *Build) SBOM(ctx context.Context) error {
	sc := b.Config.SBOM
	format, err := sbom.ParseFormat(sc.Format)
	if err != nil {
		return err
	}
	for _, t := range b.Config.Images {
		if err := ocidir.Exists(b.LayoutDir(t)); err != nil {
			return fmt.Errorf("image %s: nothing to describe: %w", t.Name, &shared.NeedStep{Err: err, Fix: "run {index} (or {release}) first"})
		}
	}
	for _, t := range b.Config.Images {
		b.logf("describing %s (%s)\n", t.Name, format)
		opts := []sbom.Option{
			sbom.WithName(t.Name), sbom.WithOutDir(b.SBOMDir()), sbom.WithFormat(format),
			sbom.WithProvenance(!sc.NoProvenance), sbom.WithLog(b.opts.Log),
			sbom.WithConfig(buildConfig(b.Config.Compression, t)),
			sbom.WithCacheDir(filepath.Join(b.cacheDir(), "sbom")),
		}
		vendor := ""
		if t.Vendor {
			vendor = filepath.Join(t.Dir, "vendor")
		}
		vars, _ := goenv.Read(ctx, b.opts.GoBin, t.Dir, b.env()) // no module cache: licenses from vendor/ only
		opts = append(opts, sbom.WithModuleSources(t.Dir, vendor, vars.GOMODCACHE))
		if sum, err := os.ReadFile(filepath.Join(t.Dir, "go.sum")); err == nil {
			opts = append(opts, sbom.WithGoSum(sum))
		}
		if len(t.Repos) > 0 {
			opts = append(opts, sbom.WithIdentity(t.Repos[0]))
		}
		if _, err := sbom.Layout(ctx, b.LayoutDir(t), opts...); err != nil {
			return fmt.Errorf("image %s: %w", t.Name, err)
		}
	}
	return nil
}

// SBOMIfEnabled is release's sbom step: SBOM unless GANTRY_SBOM=0.
func (b *Build) SBOMIfEnabled(ctx context.Context) error {
	if !b.Config.SBOM.Enabled() {
		b.logf("sbom skipped (GANTRY_SBOM=0)\n")
		return nil
	}
	return b.SBOM(ctx)
}

// downloadForSBOM fills the module cache for the SBOM's licenses when the
// layouts were compiled on other runners (a vendored module has them in
// vendor/).
func (b *Build) downloadForSBOM(ctx context.Context) error {
	if !b.Config.SBOM.Enabled() {
		return nil
	}
	done := map[string]bool{}
	for _, t := range b.Config.Images {
		if t.Vendor || done[t.Dir] {
			continue
		}
		done[t.Dir] = true
		if err := sbom.DownloadModules(ctx, b.opts.GoBin, t.Dir, b.env()); err != nil {
			return fmt.Errorf("image %s: %w", t.Name, err)
		}
	}
	return nil
}

// buildConfig is the configuration of t the provenance records.
func buildConfig(compression string, t config.ResolvedImage) map[string]string {
	c := map[string]string{
		"main": t.Main, "base": t.Base, "user": t.User, "binDir": t.BinDir, "compression": compression,
	}
	for k, v := range t.Bases {
		c["base."+k] = v
	}
	if len(t.BuildTags) > 0 {
		c["buildTags"] = strings.Join(t.BuildTags, ",")
	}
	if len(t.Ldflags) > 0 {
		c["ldflags"] = strings.Join(t.Ldflags, " ")
	}
	return c
}
