package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gantrybuild/gantry/targets/scaffold"
)

// The scenarios of issue 13: many images of one module (batched go build
// as the floor), the no-op as a user types it (go -C magefiles tool mage -w .. release), and a
// tree with dangling symlinks.

// xtools is a real module with many mains; the six below all import
// go/packages, which the shared edit touches.
const xtools = "golang.org/x/tools@v0.40.0"

var xtoolsMains = []string{"./cmd/stringer", "./cmd/deadcode", "./cmd/callgraph", "./cmd/bundle", "./cmd/eg", "./cmd/ssadump"}

// platformSets are the 2 and 4 platform builds of the multi-image grid.
var platformSets = [][]string{
	{"linux/amd64", "linux/arm64"},
	{"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/ppc64le"},
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

// runCPU runs a command and returns its wall time and the CPU time (user
// and system) of it and the processes it waited for.
func (b *bench) runCPU(ctx context.Context, dir string, env []string, name string, args ...string) (wall, cpu time.Duration, err error) {
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

// multi measures N images of x/tools on P platforms: gantry (one release of
// N images), go build batched as the toolchain allows (one
// `go build -o dir/ main1 … mainN` per platform, platforms at once) and ko
// (one `ko build` of the N mains). Cold builds (CPU time) for the grid
// cells in BENCH_MULTI_COLD (default 3x2,3x4; none for none).
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
	if err := os.WriteFile(filepath.Join(drv, "magefiles", "magefile.go"), []byte(multiDriverMagefile), 0o644); err != nil {
		return nil, err
	}
	gantry := filepath.Join(b.work, "gantry-multi")
	if _, err := b.run(ctx, drv, nil, "go", "-C", "magefiles", "tool", "mage", "-compile", gantry); err != nil {
		return nil, err
	}
	cold := map[string]bool{}
	spec := os.Getenv("BENCH_MULTI_COLD")
	if spec == "" {
		spec = "3x2,3x4"
	}
	if spec == "none" {
		spec = ""
	}
	for _, c := range strings.Split(spec, ",") {
		cold[c] = true
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
			label := fmt.Sprintf("x/tools %d image(s) × %d platforms", n, len(plats))
			fmt.Printf("%s\n", label)
			// One build cache shared by the tools for every warm scenario
			// (they compile with the same flags, so its content is the
			// same; this saves a cold build per tool); a cold build gets an
			// empty one of its own.
			cacheDir := map[string]string{}
			cache := func(t string) string {
				if c, ok := cacheDir[t]; ok {
					return c
				}
				return filepath.Join(b.work, "cache-multi")
			}
			build := map[string]func() (time.Duration, time.Duration, error){
				"go build": func() (time.Duration, time.Duration, error) {
					return b.batchedGoBuild(ctx, a.dir, cache("go"), plats, mains)
				},
				"gantry": func() (time.Duration, time.Duration, error) {
					env := []string{"GOCACHE=" + cache("gantry"), "BENCH_MAINS=" + strings.Join(mains, ","), "GANTRY_PLATFORMS=" + strings.Join(plats, ","),
						"GANTRY_ALLOW_DIRTY=1", "GANTRY_BASE=" + b.base, "GANTRY_PROGRESS=quiet", "GANTRY_SBOM=0"}
					return b.runCPU(ctx, a.dir, env, gantry, "release")
				},
				"ko": func() (time.Duration, time.Duration, error) {
					env := []string{"GOCACHE=" + cache("ko"), "KO_DEFAULTBASEIMAGE=" + b.base, "KO_DOCKER_REPO=" + b.reg + "/ko-xtools"}
					args := append([]string{"build", "--bare", "--platform=" + strings.Join(plats, ","), "--sbom=none", "--push=false",
						"--oci-layout-path=" + filepath.Join(b.work, "xtools-ko-layout-"+cell)}, mains...)
					return b.runCPU(ctx, a.dir, env, b.ko, args...)
				},
			}
			tools := []string{"go build", "gantry", "ko"}
			medians := func(scenario string, f func(t string) (time.Duration, error)) error {
				r := row{app: label, scenario: scenario, median: map[string]time.Duration{}}
				for _, t := range tools {
					var ds []time.Duration
					for range b.runs {
						d, err := f(t)
						if err != nil {
							return err
						}
						ds = append(ds, d)
					}
					r.median[t] = median(ds)
				}
				rows = append(rows, r)
				return nil
			}
			if cold[cell] {
				r := row{app: label, scenario: "cold, CPU time", median: map[string]time.Duration{}}
				for _, t := range tools {
					short := map[string]string{"go build": "go", "gantry": "gantry", "ko": "ko"}[t]
					cacheDir[short] = filepath.Join(b.work, "cache-multi-cold-"+short)
					os.RemoveAll(cacheDir[short])
					for _, d := range []string{filepath.Join(a.dir, "dist"), filepath.Join(b.work, "xtools-bin"), filepath.Join(b.work, "xtools-ko-layout-"+cell)} {
						os.RemoveAll(d)
					}
					_, cpu, err := build[t]()
					os.RemoveAll(cacheDir[short])
					delete(cacheDir, short)
					if err != nil {
						return nil, err
					}
					r.median[t] = cpu
				}
				os.RemoveAll(filepath.Join(a.dir, "dist"))
				rows = append(rows, r)
			}
			for _, t := range tools { // warm up, unmeasured
				if _, _, err := build[t](); err != nil {
					return nil, err
				}
			}
			time.Sleep(2500 * time.Millisecond) // outside Gantry's racy window, as in the other no-ops
			if err := medians("warm no-op", func(t string) (time.Duration, error) {
				d, _, err := build[t]()
				return d, err
			}); err != nil {
				return nil, err
			}
			// A comment appended to a package all mains import: every
			// package above it is checked again, no binary changes.
			if err := medians("shared edit, binaries unchanged", func(t string) (time.Duration, error) {
				edits++
				if err := os.WriteFile(shared, fmt.Appendf(append([]byte(nil), orig...), "\n// bench edit %d\n", edits), 0o644); err != nil {
					return 0, err
				}
				d, _, err := build[t]()
				return d, err
			}); err != nil {
				return nil, err
			}
		}
	}
	return rows, nil
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

// typed measures the no-op as a user types it, `go -C magefiles tool mage -w .. release`, in
// a copy of the app with Gantry scaffolded into it, against the compiled
// magefile, go build's and ko's no-ops.
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
	compiled := filepath.Join(b.work, a.name+"-mage")
	if _, err := b.run(ctx, a.dir, nil, "go", "-C", "magefiles", "tool", "mage", "-compile", compiled); err != nil {
		return nil, err
	}
	env := []string{"GANTRY_ALLOW_DIRTY=1", "GANTRY_BASE=" + b.base, "GANTRY_PROGRESS=quiet", "GANTRY_SBOM=0"}
	ts := b.tools(ctx, a, b.runs) // warm caches of their own
	cmds := map[string]func() (time.Duration, error){
		"go build": func() (time.Duration, error) { return ts[0].build(false) },
		"ko":       func() (time.Duration, error) { return ts[2].build(false) },
		"typed": func() (time.Duration, error) {
			return b.run(ctx, a.dir, env, "go", "-C", "magefiles", "tool", "mage", "-w", "..", "release")
		},
		"compiled": func() (time.Duration, error) { return b.run(ctx, a.dir, env, compiled, "release") },
	}
	order := []string{"go build", "ko", "typed", "compiled"}
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
	typedRow := row{app: base.name, scenario: "no-op as typed (go -C magefiles tool mage -w .. release)", median: map[string]time.Duration{
		"go build": median(samples["go build"]), "ko": median(samples["ko"]), "gantry": median(samples["typed"])}}
	compiledRow := row{app: base.name, scenario: "no-op, compiled magefile", median: map[string]time.Duration{
		"go build": median(samples["go build"]), "ko": median(samples["ko"]), "gantry": median(samples["compiled"])}}
	return []row{typedRow, compiledRow}, nil
}

// links measures the warm no-op of an app whose repository holds dangling
// symlinks (as real test fixtures do), committed.
func (b *bench) links(ctx context.Context, base app) ([]row, error) {
	a := base
	a.name += "-links"
	if err := b.prepare(ctx, &a); err != nil {
		return nil, err
	}
	td := filepath.Join(a.dir, "testdata")
	if err := os.MkdirAll(td, 0o755); err != nil {
		return nil, err
	}
	for name, target := range map[string]string{"missing": "/non/existing/file", "windows": "C:/Users/someone/file.txt"} {
		if err := os.Symlink(target, filepath.Join(td, name)); err != nil {
			return nil, err
		}
	}
	git := []string{"GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com", "GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com"}
	for _, args := range [][]string{{"add", "-A"}, {"commit", "-qm", "dangling links"}} {
		if _, err := b.run(ctx, a.dir, git, "git", args...); err != nil {
			return nil, err
		}
	}
	ts := b.tools(ctx, a, b.runs)
	for _, t := range ts { // warm up
		if _, err := t.build(false); err != nil {
			return nil, err
		}
	}
	time.Sleep(2500 * time.Millisecond)
	r := row{app: base.name + " + 2 dangling symlinks", scenario: "warm no-op", median: map[string]time.Duration{}}
	for _, t := range ts {
		var ds []time.Duration
		for range max(b.runs, 3) {
			d, err := t.build(false)
			if err != nil {
				return nil, err
			}
			ds = append(ds, d)
		}
		r.median[t.name] = median(ds)
	}
	return []row{r}, nil
}

// The extra scenarios' table lives between these markers in benchReport, so
// either table can be measured again without the other.
const (
	moreBegin = "<!-- bench: many images, as typed, dangling links -->"
	moreEnd   = "<!-- bench: end -->"
)

func reportMore(rows []row, runs int, write bool) error {
	var md bytes.Buffer
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "app\tscenario\tgo build\tgantry\tko\tgantry/go build\tgantry/ko\tko/go build")
	md.WriteString("| app | scenario | go build | gantry | ko | gantry/go build | gantry/ko | ko/go build |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		g, gt, k := r.median["go build"], r.median["gantry"], r.median["ko"]
		cells := []string{r.app, r.scenario, secs(g), secs(gt), secs(k), ratio(gt, g), ratio(gt, k), ratio(k, g)}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
		fmt.Fprintf(&md, "| %s |\n", strings.Join(cells, " | "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !write {
		return nil
	}
	var sec bytes.Buffer
	sec.WriteString(moreBegin + "\n\n## Many images, the command as typed, dangling links\n\n")
	fmt.Fprintf(&sec, "Medians of %d run(s) (no-ops: at least 3), measured %s on: %s.\n\n", runs, time.Now().UTC().Format("2006-01-02 15:04 MST"), machine())
	sec.WriteString("- **x/tools N image(s) × P platforms**: golang.org/x/tools v0.40.0, a real module with many mains; images are its ")
	sec.WriteString("`" + strings.Join(xtoolsMains, "`, `") + "` (the first N), all importing go/packages. ")
	sec.WriteString("**go build** is the floor for many images: one `go build -trimpath -ldflags='-s -w' -o dir/ main1 … mainN` per platform, the platforms at once; **gantry** one `release` of N images; **ko** one `ko build` of the N mains into a layout. ")
	sec.WriteString("**cold, CPU time**: user+system CPU seconds from empty caches; **shared edit, binaries unchanged**: a comment appended to go/packages/doc.go, so every package above it is checked and no binary changes. 2 platforms: linux/amd64, linux/arm64; 4: also linux/arm/v7, linux/ppc64le.\n")
	sec.WriteString("- **no-op as typed**: `go -C magefiles tool mage -w .. release` in the app with Gantry scaffolded into it (nested magefiles module), wall time; **no-op, compiled magefile**: the same targets compiled once with `mage -compile`. go build and ko columns: their own no-ops.\n")
	sec.WriteString("- **+ 2 dangling symlinks**: crane's module with `testdata/missing -> /non/existing/file` and `testdata/windows -> C:/Users/someone/file.txt` committed.\n\n")
	sec.Write(md.Bytes())
	sec.WriteString("\n" + moreEnd + "\n")
	old, err := os.ReadFile(benchReport)
	if err != nil {
		return err
	}
	doc := string(old)
	if i, j := strings.Index(doc, moreBegin), strings.Index(doc, moreEnd); i >= 0 && j > i {
		doc = doc[:i] + sec.String() + doc[j+len(moreEnd)+1:]
	} else {
		doc += "\n" + sec.String()
	}
	if err := os.WriteFile(benchReport, []byte(doc), 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote the extra scenarios into %s\n", benchReport)
	return nil
}
