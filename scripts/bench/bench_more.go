package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/gantry"
	"github.com/gantrybuild/gantry/targets/scaffold"
)

// The scenarios of issue 13: many images of one module (batched go build
// as the floor), the no-op as a user types it (go tool mage release), and a
// tree with dangling symlinks.

// xtools is a real module with many mains; the six below all import
// go/packages, which the shared edit touches.
const xtools = "golang.org/x/tools@v0.40.0"

var xtoolsMains = []string{"./cmd/stringer", "./cmd/deadcode", "./cmd/callgraph", "./cmd/bundle", "./cmd/eg", "./cmd/ssadump"}

// platformSets are the 2 and 4 platform builds of the multi-image grid.
var platformSets = [][]string{
	{"linux/amd64", "linux/arm64"},
	{"linux/amd64", "linux/arm64", "linux/ppc64le", "linux/s390x"},
}

// multiDriverMagefile configures one image per main package listed in
// BENCH_MAINS (the benchmark's own driver, not kit code).
const multiDriverMagefile = `//go:build mage

package main

import (
	"os"
	"path"
	"strings"

	"github.com/gantrybuild/gantry/targets"
	"github.com/gantrybuild/gantry/targets/config"

	//mage:import
	_ "github.com/gantrybuild/gantry/targets"
)

func init() {
	var images []config.Image
	for _, m := range strings.Split(os.Getenv("BENCH_MAINS"), ",") {
		images = append(images, config.Image{Main: m, Name: path.Base(m)})
	}
	targets.Configure(config.Project{Images: images})
}
`

// output runs a command as runCPU does and returns what it printed.
func (b *bench) output(ctx context.Context, dir string, env []string, name string, args ...string) ([]byte, error) {
	if len(b.wrap) > 0 {
		name, args = b.wrap[0], append(append(b.wrap[1:len(b.wrap):len(b.wrap)], name), args...)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %v in %s: %w\n%s", name, args, dir, err, out)
	}
	return out, nil
}

// runCPU runs a command and returns its wall time and the CPU time (user
// and system) of it and the processes it waited for.
func (b *bench) runCPU(ctx context.Context, dir string, env []string, name string, args ...string) (wall, cpu time.Duration, err error) {
	if len(b.wrap) > 0 {
		name, args = b.wrap[0], append(append(b.wrap[1:len(b.wrap):len(b.wrap)], name), args...)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall = time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("%s %v in %s: %w\n%s", name, args, dir, err, out)
	}
	return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// scaffoldInto writes Gantry's scaffolding (nested magefiles module) into dir.
func (b *bench) scaffoldInto(ctx context.Context, dir string) error {
	kit, err := scaffold.Running(ctx, b.kit)
	if err != nil {
		return err
	}
	return scaffold.Init(ctx, dir, scaffold.WithKit(kit), scaffold.WithTemplate("none"), scaffold.WithOutput(io.Discard))
}

// multi measures N images of x/tools on P platforms, each cell cold and
// warm: gantry (one release of N images), go build batched as the
// toolchain allows (one `go build -o dir/ main1 … mainN` per platform,
// platforms at once) and ko (one `ko build` of the N mains). Wall and CPU
// time of each. BENCH_MULTI_COLD names the cells built cold (default all;
// e.g. 3x2,3x4; none for none).
func (b *bench) multi(ctx context.Context) ([]row, error) {
	a := app{name: "xtools", module: xtools}
	if err := b.prepare(ctx, &a); err != nil {
		return nil, err
	}
	drv := filepath.Join(b.work, "driver-multi")
	if err := os.MkdirAll(drv, 0o755); err != nil {
		return nil, err
	}
	for name, body := range map[string]string{"go.mod": "module example.com/drivermulti\n\ngo 1.26.0\n", "main.go": "package main\n\nfunc main() {}\n"} {
		if err := os.WriteFile(filepath.Join(drv, name), []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	if err := b.scaffoldInto(ctx, drv); err != nil {
		return nil, err
	}
	// The driver imports the engine's targets itself (compiled once with
	// mage -compile, as the other tools' no-ops leave their front out), so
	// the generated targets init wrote would define them twice.
	if err := os.Remove(filepath.Join(drv, "magefiles", "gantry.go")); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(drv, "magefiles", "magefile.go"), []byte(multiDriverMagefile), 0o644); err != nil {
		return nil, err
	}
	gantry := filepath.Join(b.work, "gantry-multi")
	if _, err := b.run(ctx, drv, nil, "go", "-C", "magefiles", "tool", "mage", "-compile", gantry); err != nil {
		return nil, err
	}
	cold, err := coldCells(os.Getenv("BENCH_MULTI_COLD"))
	if err != nil {
		return nil, err
	}
	shared := filepath.Join(a.dir, "go", "packages", "doc.go")
	orig, err := os.ReadFile(shared)
	if err != nil {
		return nil, err
	}
	defer os.WriteFile(shared, orig, 0o644)
	edits := 0

	var rows []row
	for _, plats := range platformSets {
		for _, n := range []int{1, 3, 6} {
			mains := xtoolsMains[:n]
			cell := fmt.Sprintf("%dx%d", n, len(plats))
			label := fmt.Sprintf("%d × %d", n, len(plats))
			fmt.Printf("x/tools: %d image(s) × %d platforms\n", n, len(plats))
			// The warm scenarios share one build cache across tools (they
			// compile with the same flags, so its content is the same; this
			// saves a cold build per tool); a cold build gets an empty one.
			warmCache := filepath.Join(b.work, "cache-multi")
			build := map[string]func(cache string) (time.Duration, time.Duration, error){
				"go build": func(cache string) (time.Duration, time.Duration, error) {
					return b.batchedGoBuild(ctx, a.dir, cache, plats, mains)
				},
				"gantry": func(cache string) (time.Duration, time.Duration, error) {
					env := []string{"GOCACHE=" + cache, "BENCH_MAINS=" + strings.Join(mains, ","), "GANTRY_PLATFORMS=" + strings.Join(plats, ","),
						"GANTRY_ALLOW_DIRTY=1", "GANTRY_BASE=" + b.base, "GANTRY_PROGRESS=quiet", "GANTRY_SBOM=0"}
					return b.runCPU(ctx, a.dir, env, gantry, "release")
				},
				"ko": func(cache string) (time.Duration, time.Duration, error) {
					env := []string{"GOCACHE=" + cache, "KO_DEFAULTBASEIMAGE=" + b.base, "KO_DOCKER_REPO=" + b.reg + "/ko-xtools"}
					args := append([]string{"build", "--bare", "--platform=" + strings.Join(plats, ","), "--sbom=none", "--push=false",
						"--oci-layout-path=" + filepath.Join(b.work, "xtools-ko-layout-"+cell)}, mains...)
					return b.runCPU(ctx, a.dir, env, b.ko, args...)
				},
			}
			clean := func() {
				for _, d := range []string{filepath.Join(a.dir, "dist"), filepath.Join(b.work, "xtools-bin"), filepath.Join(b.work, "xtools-ko-layout-"+cell)} {
					os.RemoveAll(d)
				}
			}
			measure := func(scenario string, runs int, before func() (string, error)) error {
				r := row{app: label, scenario: scenario, median: map[string]time.Duration{}, cpu: map[string]time.Duration{}}
				for _, t := range multiTools {
					var walls, cpus []time.Duration
					for range runs {
						cache, err := before()
						if err != nil {
							return err
						}
						wall, cpu, err := build[t](cache)
						if err != nil {
							return err
						}
						walls, cpus = append(walls, wall), append(cpus, cpu)
					}
					r.median[t], r.cpu[t] = median(walls), median(cpus)
				}
				rows = append(rows, r)
				return nil
			}
			if cold[cell] || cold["all"] {
				coldCache := filepath.Join(b.work, "cache-multi-cold")
				if err := measure("cold", max(b.coldRuns, 1), func() (string, error) {
					clean()
					return coldCache, os.RemoveAll(coldCache)
				}); err != nil {
					return nil, err
				}
				os.RemoveAll(coldCache)
			}
			clean()
			for _, t := range multiTools { // warm up, unmeasured
				if _, _, err := build[t](warmCache); err != nil {
					return nil, err
				}
			}
			time.Sleep(2500 * time.Millisecond) // outside Gantry's racy window, as in the other no-ops
			if err := measure("warm no-op", b.runs, func() (string, error) { return warmCache, nil }); err != nil {
				return nil, err
			}
			// A comment appended to a package every main imports: every
			// package above it is checked again, no binary changes.
			if err := measure("shared edit, binaries unchanged", b.runs, func() (string, error) {
				edits++
				return warmCache, os.WriteFile(shared, fmt.Appendf(bytes.Clone(orig), "\n// bench edit %d\n", edits), 0o644)
			}); err != nil {
				return nil, err
			}
			// Each cell lands in the report as soon as it is measured.
			if err := reportMulti(rows, b.runs, b.coldRuns); err != nil {
				return nil, err
			}
		}
	}
	return rows, nil
}

// multiTools are the columns of the many-images grid, in order.
var multiTools = []string{"go build", "gantry", "ko"}

// coldCells parses BENCH_MULTI_COLD: "" or all for every cell, none for
// none, else cells such as 3x2,6x4 (images × platforms).
func coldCells(spec string) (map[string]bool, error) {
	switch spec {
	case "", "all":
		return map[string]bool{"all": true}, nil
	case "none":
		return map[string]bool{}, nil
	}
	cells := map[string]bool{}
	for _, c := range strings.Split(spec, ",") {
		var n, p int
		if _, err := fmt.Sscanf(c, "%dx%d", &n, &p); err != nil || !slices.Contains([]int{1, 3, 6}, n) || !slices.Contains([]int{2, 4}, p) {
			return nil, fmt.Errorf("BENCH_MULTI_COLD=%q: %q is not a cell of the grid: use images x platforms, images 1, 3 or 6, platforms 2 or 4 (e.g. 3x2,6x4), all or none", spec, c)
		}
		cells[c] = true
	}
	return cells, nil
}

// reportMulti writes the many-images grid: wall and CPU time, and the CPU
// ratios, which a machine shared with other work distorts least.
func reportMulti(rows []row, runs, coldRuns int) error {
	head := []string{"images × platforms", "scenario", "go build", "gantry", "ko", "gantry/go build CPU", "ko/go build CPU", "gantry/ko CPU", "gantry/go build wall", "gantry/ko wall"}
	var cells [][]string
	for _, r := range rows {
		col := func(t string) string { return secs(r.median[t]) + " (" + secs(r.cpu[t]) + " CPU)" }
		g, gt, k := r.cpu["go build"], r.cpu["gantry"], r.cpu["ko"]
		cells = append(cells, []string{r.app, r.scenario, col("go build"), col("gantry"), col("ko"),
			ratio(gt, g), ratio(k, g), ratio(gt, k), ratio(r.median["gantry"], r.median["go build"]), ratio(r.median["gantry"], r.median["ko"])})
	}
	md, err := table(head, cells)
	if err != nil {
		return err
	}
	var sec strings.Builder
	sec.WriteString("\n## Many images of one module\n\n")
	fmt.Fprintf(&sec, "Medians of %d run(s) (cold: %d), wall time and CPU time (user + system of every process), measured %s on: %s.\n\n", runs, max(coldRuns, 1), time.Now().UTC().Format("2006-01-02 15:04 MST"), machine())
	sec.WriteString("- Module: golang.org/x/tools v0.40.0 (from the Go module proxy), a real module with many mains; the N images are the first N of ")
	sec.WriteString("`" + strings.Join(xtoolsMains, "`, `") + "`, all importing go/packages.\n")
	sec.WriteString("- Platforms: 2 = " + strings.Join(platformSets[0], ", ") + "; 4 = " + strings.Join(platformSets[1], ", ") + " (all linux: the bench's base image is built offline for these four architectures; a Windows base needs foreign layers from Microsoft).\n")
	sec.WriteString("- **go build** (the floor for many images): one `CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o dir/ main1 … mainN` per platform, the platforms at once. **gantry**: one `release` of the N images into an OCI layout, SBOMs off. **ko**: one `ko build --bare --sbom=none --push=false --oci-layout-path` of the N mains.\n")
	sec.WriteString("- **cold**: empty `GOCACHE` (its own per tool) and no output; **warm no-op**: the same again; **shared edit, binaries unchanged**: a comment appended to go/packages/doc.go, so every package above it is checked again and no binary changes (the warm scenarios share one build cache across tools: same compile flags).\n")
	sec.WriteString("- The machine is shared (2 CPUs, other builds running): **the CPU ratios are the trustworthy ones**; wall times move with the others' load.\n\n")
	sec.WriteString(md)
	sec.WriteString("\n")
	return writeSection("multi", sec.String())
}

// batchedGoBuild is the floor for many images: one go build of every main
// per platform, the platforms at once.
func (b *bench) batchedGoBuild(ctx context.Context, dir, cache string, plats, mains []string) (wall, cpu time.Duration, err error) {
	type res struct {
		cpu time.Duration
		err error
	}
	start := time.Now()
	done := make(chan res, len(plats))
	for _, p := range plats {
		go func() {
			parts := strings.Split(p, "/")
			env := []string{"GOCACHE=" + cache, "CGO_ENABLED=0", "GOOS=" + parts[0], "GOARCH=" + parts[1]}
			if len(parts) == 3 && parts[1] == "arm" {
				env = append(env, "GOARM="+strings.TrimPrefix(parts[2], "v"))
			}
			out := filepath.Join(b.work, "xtools-bin", strings.ReplaceAll(p, "/", "_")) + string(filepath.Separator)
			_, c, err := b.runCPU(ctx, dir, env, "go", append([]string{"build", "-trimpath", "-ldflags=-s -w", "-o", out}, mains...)...)
			done <- res{c, err}
		}()
	}
	for range plats {
		r := <-done
		if r.err != nil {
			err = r.err
		}
		cpu += r.cpu
	}
	return time.Since(start), cpu, err
}

// typed measures the no-op as a user types it (the command init names:
// `go tool mage release`, through the root module's tool directive), in a
// copy of the app with Gantry scaffolded into it, against the same targets
// with mage's staleness check left out (the magefile compiled once with
// `mage -compile`, which still runs the engine), the engine alone (what
// the front door execs), and go build's and ko's no-ops.
func (b *bench) typed(ctx context.Context, base app) ([]row, error) {
	a := base
	a.name += "-typed"
	if err := b.prepare(ctx, &a); err != nil {
		return nil, err
	}
	if err := b.scaffoldInto(ctx, a.dir); err != nil {
		return nil, err
	}
	git := []string{"GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com", "GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com"}
	for _, args := range [][]string{{"add", "-A"}, {"commit", "-qm", "gantry"}} {
		if _, err := b.run(ctx, a.dir, git, "git", args...); err != nil {
			return nil, err
		}
	}
	mage := strings.Fields(config.MageCommand(a.dir))
	compiled := filepath.Join(b.work, a.name+"-mage")
	if _, err := b.run(ctx, a.dir, nil, "go", "-C", "magefiles", "tool", "mage", "-compile", compiled); err != nil {
		return nil, err
	}
	env := []string{"GANTRY_ALLOW_DIRTY=1", "GANTRY_BASE=" + b.base, "GANTRY_PROGRESS=quiet", "GANTRY_SBOM=0"}
	// The first typed run builds the engine; then it is in the cache.
	if _, err := b.run(ctx, a.dir, env, mage[0], append(mage[1:], "release")...); err != nil {
		return nil, err
	}
	engine, err := gantry.Engine(ctx, a.dir)
	if err != nil {
		return nil, err
	}
	ts := b.tools(ctx, a, b.runs) // warm caches of their own
	cmds := map[string]func() (time.Duration, error){
		"go build": func() (time.Duration, error) { return ts[0].build(false) },
		"ko":       func() (time.Duration, error) { return ts[2].build(false) },
		"typed": func() (time.Duration, error) {
			return b.run(ctx, a.dir, env, mage[0], append(mage[1:], "release")...)
		},
		"compiled": func() (time.Duration, error) { return b.run(ctx, a.dir, env, compiled, "release") },
		"engine":   func() (time.Duration, error) { return b.run(ctx, a.dir, env, engine, "release") },
	}
	order := []string{"go build", "ko", "typed", "compiled", "engine"}
	for _, k := range order { // warm up
		if _, err := cmds[k](); err != nil {
			return nil, err
		}
	}
	time.Sleep(2500 * time.Millisecond)
	samples := map[string][]time.Duration{}
	for range max(b.runs, 3) {
		for _, k := range order {
			d, err := cmds[k]()
			if err != nil {
				return nil, err
			}
			samples[k] = append(samples[k], d)
		}
	}
	// A one-line change to main.go (the binary changes), each tool after
	// an edit of its own, as a developer types the command.
	mainGo := filepath.Join(a.dir, "main.go")
	orig, err := os.ReadFile(mainGo)
	if err != nil {
		return nil, err
	}
	defer os.WriteFile(mainGo, orig, 0o644)
	changed := map[string][]time.Duration{}
	edits := 0
	for range max(b.runs, 3) {
		for _, k := range []string{"go build", "ko", "typed", "engine"} {
			edits++
			if err := os.WriteFile(mainGo, fmt.Appendf(bytes.Clone(orig), "\n// bench edit %d\nvar benchEdit = %d\n", edits, edits), 0o644); err != nil {
				return nil, err
			}
			d, err := cmds[k]()
			if err != nil {
				return nil, err
			}
			changed[k] = append(changed[k], d)
		}
	}
	others := func(s map[string][]time.Duration, gantry string) map[string]time.Duration {
		return map[string]time.Duration{"go build": median(s["go build"]), "ko": median(s["ko"]), "gantry": median(s[gantry])}
	}
	typed := strings.Join(mage, " ") + " release"
	return []row{
		{app: base.name, scenario: "no-op as typed (" + typed + ")", median: others(samples, "typed")},
		{app: base.name, scenario: "no-op, magefile compiled once (mage -compile)", median: others(samples, "compiled")},
		{app: base.name, scenario: "no-op, the engine alone", median: others(samples, "engine")},
		{app: base.name, scenario: "one-line change as typed (" + typed + ")", median: others(changed, "typed")},
		{app: base.name, scenario: "one-line change, the engine alone", median: others(changed, "engine")},
	}, nil
}

// reportTyped writes the no-op as a user types it next to the compiled
// magefile's, go build's and ko's no-ops.
func reportTyped(rows []row, runs int) error {
	head := []string{"app", "scenario", "go build", "gantry", "ko", "gantry/go build", "gantry/ko"}
	var cells [][]string
	for _, r := range rows {
		g, gt, k := r.median["go build"], r.median["gantry"], r.median["ko"]
		cells = append(cells, []string{r.app, r.scenario, secs(g), secs(gt), secs(k), ratio(gt, g), ratio(gt, k)})
	}
	md, err := table(head, cells)
	if err != nil {
		return err
	}
	var sec strings.Builder
	fmt.Fprintf(&sec, "\nMedians of %d run(s), wall time, measured %s on: %s.\n\n", max(runs, 3), time.Now().UTC().Format("2006-01-02 15:04 MST"), machine())
	sec.WriteString("- **no-op as typed**: the command init names (`go tool mage release`) in the app with Gantry scaffolded into it (build module magefiles/, front package targets/gantry, cached engine); **magefile compiled once**: the same magefile compiled with `mage -compile` (no mage staleness check; it still starts the engine); **the engine alone**: the cached engine binary run directly. go build and ko columns: their own no-ops. **one-line change**: a variable appended to main.go before each tool's run (the binary changes), the same columns.\n\n")
	sec.WriteString(md)
	sec.WriteString("\n")
	return writeSection("typed", sec.String())
}
