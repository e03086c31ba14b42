package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// criTools is a real module whose repository keeps a large vendor/
// (kubernetes' client libraries, ~40 MB) and whose crictl is a large real
// CLI. Module zips leave vendor/ out, so the bench writes it again with go
// mod vendor: the same tree as the repository's checked-in one.
const criTools = "sigs.k8s.io/cri-tools@v1.37.0"

// vendored prepares cri-tools once, vendored and committed.
func (b *bench) vendored(ctx context.Context) (app, error) {
	if b.cri.dir != "" {
		return b.cri, nil
	}
	a := app{name: "cri-tools", module: criTools, main: "./cmd/crictl"}
	if err := b.prepare(ctx, &a); err != nil {
		return a, err
	}
	if _, err := b.run(ctx, a.dir, []string{"GOFLAGS=-mod=mod"}, "go", "mod", "vendor"); err != nil {
		return a, err
	}
	if err := b.commit(ctx, a.dir, "vendor"); err != nil {
		return a, err
	}
	b.cri = a
	return a, nil
}

// commit commits everything in dir.
func (b *bench) commit(ctx context.Context, dir, msg string) error {
	git := []string{"GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com", "GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com"}
	for _, args := range [][]string{{"add", "-A"}, {"commit", "-qm", msg}} {
		if _, err := b.run(ctx, dir, git, "git", args...); err != nil {
			return err
		}
	}
	return nil
}

// vendorCheck measures what the vendor and module check costs in a release
// of a module with a large vendor/: the check alone (`vendor:check`, as
// release runs it alongside compile) against a whole release, cold (empty build cache,
// no dist/, so nothing remembered) and as a no-op; CPU time decides.
func (b *bench) vendorCheck(ctx context.Context) ([]row, string, error) {
	a, err := b.vendored(ctx)
	if err != nil {
		return nil, "", err
	}
	files, size := 0, int64(0)
	filepath.WalkDir(filepath.Join(a.dir, "vendor"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				files, size = files+1, size+fi.Size()
			}
		}
		return err
	})
	desc := fmt.Sprintf("%s (%s), vendor/: %d files, %.0f MB", strings.TrimSuffix(criTools, "@v1.37.0")+" v1.37.0", a.main, files, float64(size)/1e6)
	cache := filepath.Join(b.work, "cache-vendor")
	env := []string{"GOCACHE=" + cache, "GANTRY_IMAGE=crictl", "GANTRY_MAIN=" + a.main, "GANTRY_ALLOW_DIRTY=1", "GANTRY_BASE=" + b.base, "GANTRY_PROGRESS=quiet", "GANTRY_SBOM=0"}
	gantry := func(target string) (time.Duration, time.Duration, error) {
		return b.runCPU(ctx, a.dir, env, b.gantry, target)
	}
	dist := filepath.Join(a.dir, "dist")
	cold := row{app: "cri-tools", scenario: "cold", median: map[string]time.Duration{}, cpu: map[string]time.Duration{}}
	noop := row{app: "cri-tools", scenario: "no-op", median: map[string]time.Duration{}, cpu: map[string]time.Duration{}}
	for range max(b.coldRuns, 1) {
		// The check alone, then a whole release, each from nothing.
		os.RemoveAll(dist)
		os.RemoveAll(cache)
		w, c, err := gantry("vendor:check")
		if err != nil {
			return nil, "", err
		}
		cold.median["check"], cold.cpu["check"] = w, c
		os.RemoveAll(dist)
		os.RemoveAll(cache)
		if w, c, err = gantry("release"); err != nil {
			return nil, "", err
		}
		cold.median["release"], cold.cpu["release"] = w, c
		os.RemoveAll(cache)
		if w, c, err = b.batchedGoBuild(ctx, a.dir, cache, []string{"linux/amd64", "linux/arm64"}, []string{a.main}); err != nil {
			return nil, "", err
		}
		cold.median["go build"], cold.cpu["go build"] = w, c
	}
	time.Sleep(2500 * time.Millisecond)
	if _, _, err := gantry("release"); err != nil { // warm up
		return nil, "", err
	}
	for _, k := range []string{"check", "release"} {
		target := map[string]string{"check": "vendor:check", "release": "release"}[k]
		var walls, cpus []time.Duration
		for range max(b.runs, 3) {
			w, c, err := gantry(target)
			if err != nil {
				return nil, "", err
			}
			walls, cpus = append(walls, w), append(cpus, c)
		}
		noop.median[k], noop.cpu[k] = median(walls), median(cpus)
	}
	var walls, cpus []time.Duration
	for range max(b.runs, 3) {
		w, c, err := b.batchedGoBuild(ctx, a.dir, cache, []string{"linux/amd64", "linux/arm64"}, []string{a.main})
		if err != nil {
			return nil, "", err
		}
		walls, cpus = append(walls, w), append(cpus, c)
	}
	noop.median["go build"], noop.cpu["go build"] = median(walls), median(cpus)
	return []row{cold, noop}, desc, nil
}

// reportVendor writes the vendor and module check's share of a release.
func reportVendor(rows []row, desc string, runs int) error {
	head := []string{"module", "scenario", "vendor:check", "release", "check/release CPU", "check/release wall", "go build (2 platforms)", "release/go build CPU"}
	var cells [][]string
	for _, r := range rows {
		col := func(t string) string { return secs(r.median[t]) + " (" + secs(r.cpu[t]) + " CPU)" }
		cells = append(cells, []string{r.app, r.scenario, col("check"), col("release"), percent(r.cpu["check"], r.cpu["release"]),
			percent(r.median["check"], r.median["release"]), col("go build"), ratio(r.cpu["release"], r.cpu["go build"])})
	}
	md, err := table(head, cells)
	if err != nil {
		return err
	}
	var sec strings.Builder
	sec.WriteString("\n## The vendor and module check on a large vendor/\n\n")
	fmt.Fprintf(&sec, "Cold: one run; no-op: medians of %d runs. Wall time and CPU time (user + system of every process), measured %s on: %s.\n\n", max(runs, 3), time.Now().UTC().Format("2006-01-02 15:04 MST"), machine())
	sec.WriteString("- Module: " + desc + ", written by `go mod vendor` (the module proxy's zip leaves vendor/ out; the tree is the one the repository checks in) and committed. Image: crictl for linux/amd64 and linux/arm64, SBOMs off.\n")
	sec.WriteString("- **vendor:check**: the check a release runs alongside compile (`go mod verify` of the build list against go.sum, and vendor/ against a fresh `go mod vendor -o`), run alone; **release**: the whole release, check included. **cold**: empty `GOCACHE` and no dist/ (nothing remembered), each from scratch; **no-op**: again with nothing changed.\n")
	sec.WriteString("- **check/release CPU** is the check's share of a release (target: at most 5 % cold). The machine is shared: the CPU shares are the trustworthy ones.\n\n")
	sec.WriteString(md)
	sec.WriteString("\n")
	return writeSection("vendor", sec.String())
}

// percent is a/b as a percentage.
func percent(a, b time.Duration) string {
	if a == 0 || b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f %%", 100*float64(a)/float64(b))
}
