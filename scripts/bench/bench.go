// Command bench times go build, gantry release and ko build side by side.
//
// On testdata/hello, crane and gopls (larger real CLIs): cold, warm, after a
// one-line change and for a repeat push; then many images of x/tools
// (multi), the no-op as typed (typed), a tree with odd files (links) and the
// module check of a vendored module (vendor). Prints medians and writes
// docs/bench-vs-ko.md. Run it from the kit's checkout: `go run ./scripts/bench`
// (`go tool mage bench` does the same). Knobs (the benchmark's own, not
// Gantry settings): BENCH_RUNS runs (default 3), the first BENCH_COLD of them
// (default 1) from empty caches; BENCH_APPS=crane,gopls,multi and BENCH_COLD=0
// narrow a run; a run of hello,crane,gopls with cold builds rewrites their
// table, one of multi,typed,links,vendor theirs.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/gantrybuild/gantry/targets/scaffold"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// findKitRoot is the root of the kit's checkout: the nearest directory up from
// the working directory whose go.mod declares the kit's module.
func findKitRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && modfile.ModulePath(b) == scaffold.KitModule {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%s is not inside a checkout of %s: run go run ./scripts/bench from the kit's root", wd, scaffold.KitModule)
		}
	}
}

func run(ctx context.Context) error {
	runs := 3
	if v, ok := os.LookupEnv("BENCH_RUNS"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("BENCH_RUNS=%q is not a positive number", v)
		}
		runs = n
	}
	ko, err := exec.LookPath("ko")
	if err != nil {
		return fmt.Errorf("ko is not on PATH: GOBIN=$HOME/.cache/gantry-tools/bin go install github.com/google/ko@v0.18.1")
	}
	kitRoot, err := findKitRoot()
	if err != nil {
		return err
	}
	if err := os.Chdir(kitRoot); err != nil { // the report's path is relative to it
		return err
	}
	work, err := os.MkdirTemp("", "gantry-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	reg, stop, err := startRegistry(ctx, work)
	if err != nil {
		return err
	}
	defer stop()
	base := reg + "/base:v1"
	if err := pushBase(base); err != nil {
		return fmt.Errorf("pushing the base image: %w", err)
	}
	coldRuns := 1
	if v, ok := os.LookupEnv("BENCH_COLD"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("BENCH_COLD=%q is not a number of runs: 0 skips cold builds", v)
		}
		coldRuns = min(n, runs)
	}
	b := &bench{work: work, reg: reg, base: base, ko: ko, kit: kitRoot, runs: runs, coldRuns: coldRuns}
	var apps []app
	all := []app{
		{name: "hello", src: filepath.Join(kitRoot, "testdata", "hello")},
		{name: "crane"},
		{name: "gopls", module: "golang.org/x/tools/gopls@v0.23.0"},
	}
	for _, a := range all {
		if only := os.Getenv("BENCH_APPS"); only == "" || slices.Contains(strings.Split(only, ","), a.name) {
			apps = append(apps, a)
		}
	}
	extras := map[string]bool{}
	for _, e := range extraScenarios {
		if only := os.Getenv("BENCH_APPS"); only == "" || slices.Contains(strings.Split(only, ","), e) {
			extras[e] = true
		}
	}
	if len(apps) == 0 && len(extras) == 0 {
		return fmt.Errorf("BENCH_APPS=%q names no app: use hello, crane, gopls, %s, comma-separated", os.Getenv("BENCH_APPS"), strings.Join(extraScenarios, ", "))
	}
	if err := b.driver(ctx); err != nil {
		return fmt.Errorf("compiling the gantry driver: %w", err)
	}
	for i := range apps {
		if err := b.prepare(ctx, &apps[i]); err != nil {
			return fmt.Errorf("preparing %s: %w", apps[i].name, err)
		}
	}
	var rows []row
	for _, a := range apps {
		r, err := b.measure(ctx, a)
		if err != nil {
			return fmt.Errorf("%s: %w", a.name, err)
		}
		rows = append(rows, r...)
	}
	// A full run of the classic apps (cold included) replaces their table
	// in docs/; each extra scenario replaces its own section.
	if len(apps) > 0 {
		if err := report(rows, runs, coldRuns, coldRuns > 0 && len(apps) == len(all)); err != nil {
			return err
		}
	}
	if extras["vendor"] {
		r, desc, err := b.vendorCheck(ctx)
		if err != nil {
			return fmt.Errorf("vendor: %w", err)
		}
		if err := reportVendor(r, desc, runs); err != nil {
			return err
		}
	}
	if extras["odd"] {
		r, said, err := b.oddFiles(ctx)
		if err != nil {
			return fmt.Errorf("odd files: %w", err)
		}
		if err := reportOdd(r, said, runs); err != nil {
			return err
		}
	}
	if extras["multi"] {
		if _, err := b.multi(ctx); err != nil { // reports each cell as it goes
			return fmt.Errorf("multi: %w", err)
		}
	}
	if extras["typed"] {
		var more []row
		for _, a := range []app{{name: "hello", src: filepath.Join(kitRoot, "testdata", "hello")}, {name: "crane"}} {
			r, err := b.typed(ctx, a)
			if err != nil {
				return fmt.Errorf("typed %s: %w", a.name, err)
			}
			more = append(more, r...)
		}
		if err := reportTyped(more, runs); err != nil {
			return err
		}
	}
	return nil
}

// extraScenarios are the BENCH_APPS names of the scenarios beyond the
// one-image table.
var extraScenarios = []string{"multi", "typed", "odd", "vendor"}

type bench struct {
	work, reg, base, ko, kit string
	cri                      app      // cri-tools, vendored, once prepared (see vendored)
	wrap                     []string // a command every measured command runs under (see obeyPermissions)
	gantry                   string   // the compiled magefile of a module that uses the kit
	runs                     int
	coldRuns                 int // the first coldRuns runs start cold (BENCH_COLD, default 1); later ones continue from the warm caches
}

// app is one program the benchmark builds, as a git repository that uses
// Gantry from this checkout.
type app struct {
	name, src string
	module    string // module@version whose root package is the app, copied from the module cache
	main      string // the main package, relative to the module ("" is its root)
	dir       string // the repository
}

func (b *bench) run(ctx context.Context, dir string, env []string, name string, args ...string) (time.Duration, error) {
	d, _, err := b.runCPU(ctx, dir, env, name, args...)
	return d, err
}

// driver scaffolds Gantry into an empty module and compiles its magefile:
// the gantry command every app is built with, run in the app's directory.
// Scaffolding into the apps themselves would add the kit's dependencies to
// theirs, and gopls pins versions the kit's would raise.
func (b *bench) driver(ctx context.Context) error {
	dir := filepath.Join(b.work, "driver")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/driver\n\ngo 1.26.0\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		return err
	}
	kit, err := scaffold.Running(ctx, b.kit)
	if err != nil {
		return err
	}
	if err := scaffold.Init(ctx, dir, scaffold.WithKit(kit), scaffold.WithTemplate("none"), scaffold.WithOutput(io.Discard)); err != nil {
		return err
	}
	b.gantry = filepath.Join(b.work, "gantry")
	_, err = b.run(ctx, dir, nil, "go", "-C", "magefiles", "tool", "mage", "-compile", b.gantry)
	return err
}

// prepare writes the app's repository: the example's sources, gopls's, or a
// module whose main is crane's; committed, with dist/ ignored.
func (b *bench) prepare(ctx context.Context, a *app) error {
	a.dir = filepath.Join(b.work, a.name)
	if err := os.MkdirAll(a.dir, 0o755); err != nil {
		return err
	}
	if a.module != "" {
		out, err := exec.CommandContext(ctx, "go", "mod", "download", "-json", a.module).Output()
		var m struct{ Dir string }
		if err != nil || json.Unmarshal(out, &m) != nil || m.Dir == "" {
			return fmt.Errorf("go mod download %s: %v: needs the Go module proxy once", a.module, err)
		}
		a.src = m.Dir
	}
	if a.src != "" {
		if _, err := b.run(ctx, b.kit, nil, "cp", "-r", a.src+"/.", a.dir); err != nil {
			return err
		}
		if _, err := b.run(ctx, b.kit, nil, "chmod", "-R", "u+w", a.dir); err != nil {
			return err
		}
		for _, d := range []string{"vendor", ".git", "dist"} {
			os.RemoveAll(filepath.Join(a.dir, d))
		}
	} else {
		main := "package main\n\nimport (\n\t\"context\"\n\t\"os\"\n\n\t\"github.com/google/go-containerregistry/cmd/crane/cmd\"\n)\n\nfunc main() {\n\tif err := cmd.Root.ExecuteContext(context.Background()); err != nil {\n\t\tos.Exit(1)\n\t}\n}\n"
		if err := os.WriteFile(filepath.Join(a.dir, "main.go"), []byte(main), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(a.dir, "go.mod"), []byte("module example.com/crane\n\ngo 1.26.0\n\nrequire github.com/google/go-containerregistry v0.22.1\n"), 0o644); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(a.dir, "go.sum")); err != nil {
		if _, err := b.run(ctx, a.dir, []string{"GOFLAGS=-mod=mod"}, "go", "mod", "tidy"); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(a.dir, ".gitignore"), []byte("/dist/\n"), 0o644); err != nil {
		return err
	}
	git := []string{"GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com", "GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com"}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"commit", "-qm", "bench"}} {
		if _, err := b.run(ctx, a.dir, git, "git", args...); err != nil {
			return err
		}
	}
	return nil
}

// tool is one way of building the app's image (or binaries).
type tool struct {
	name  string
	cache string        // its own GOCACHE
	cpu   time.Duration // of the last build, where measured (gantry: one process)
	build func(push bool) (time.Duration, error)
	clean func()
}

func (b *bench) tools(ctx context.Context, a app, run int) []*tool {
	main := a.main
	if main == "" {
		main = "./"
	}
	// A cold run starts its own caches; the runs after the cold ones
	// carry on with the last cold run's.
	idx := run
	if run >= b.coldRuns {
		idx = max(b.coldRuns-1, 0)
	}
	cache := func(t string) string { return filepath.Join(b.work, fmt.Sprintf("cache-%s-%s-%d", a.name, t, idx)) }
	gobuild := &tool{name: "go build", cache: cache("go")}
	gobuild.build = func(bool) (time.Duration, error) {
		start := time.Now()
		errs := make(chan error, 2)
		for _, arch := range []string{"amd64", "arm64"} {
			go func() {
				_, err := b.run(ctx, a.dir, []string{"GOCACHE=" + gobuild.cache, "CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + arch},
					"go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(b.work, a.name+"-bin-"+arch), main)
				errs <- err
			}()
		}
		for range 2 {
			if err := <-errs; err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	}
	gantry := &tool{name: "gantry", cache: cache("gantry")}
	gantry.build = func(push bool) (time.Duration, error) {
		env := []string{"GOCACHE=" + gantry.cache, "GANTRY_IMAGE=" + a.name, "GANTRY_ALLOW_DIRTY=1", "GANTRY_BASE=" + b.base, "GANTRY_PROGRESS=quiet", "GANTRY_SBOM=0"}
		if a.main != "" {
			env = append(env, "GANTRY_MAIN="+a.main)
		}
		if push {
			env = append(env, "GANTRY_REPO="+b.reg+"/gantry-"+a.name)
		}
		wall, cpu, err := b.runCPU(ctx, a.dir, env, b.gantry, "release")
		gantry.cpu = cpu
		return wall, err
	}
	gantry.clean = func() { os.RemoveAll(filepath.Join(a.dir, "dist")) }
	kolayout := filepath.Join(b.work, a.name+"-ko-layout")
	ko := &tool{name: "ko", cache: cache("ko")}
	ko.build = func(push bool) (time.Duration, error) {
		env := []string{"GOCACHE=" + ko.cache, "KO_DEFAULTBASEIMAGE=" + b.base, "KO_DOCKER_REPO=" + b.reg + "/ko-" + a.name}
		args := []string{"build", "--bare", "--platform=linux/amd64,linux/arm64", "--sbom=none"}
		if !push {
			args = append(args, "--push=false", "--oci-layout-path="+kolayout)
		}
		return b.run(ctx, a.dir, env, b.ko, append(args, main)...)
	}
	ko.clean = func() { os.RemoveAll(kolayout) }
	return []*tool{gobuild, gantry, ko}
}

// row is one scenario's medians, by tool: wall time, and CPU time (user +
// system, of the command and every process it waited for) where measured.
type row struct {
	app, scenario string
	median        map[string]time.Duration
	cpu           map[string]time.Duration
}

func (b *bench) measure(ctx context.Context, a app) ([]row, error) {
	scenarios := []string{"cold", "warm no-op", "one-line change", "repeat release+push"}
	samples := map[string]map[string][]time.Duration{}
	for _, s := range scenarios {
		samples[s] = map[string][]time.Duration{}
	}
	mainGo := filepath.Join(a.dir, "main.go")
	orig, err := os.ReadFile(mainGo)
	if err != nil {
		return nil, err
	}
	defer os.WriteFile(mainGo, orig, 0o644)
	for run := 0; run < b.runs; run++ {
		fmt.Printf("%s: run %d of %d\n", a.name, run+1, b.runs)
		tools := b.tools(ctx, a, run)
		record := func(s string, push bool) error {
			for _, t := range tools {
				if push && t.name == "go build" {
					continue
				}
				d, err := t.build(push)
				if err != nil {
					return err
				}
				samples[s][t.name] = append(samples[s][t.name], d)
			}
			return nil
		}
		if run < b.coldRuns {
			for _, t := range tools {
				os.RemoveAll(t.cache)
				if t.clean != nil {
					t.clean()
				}
			}
			if err := record("cold", false); err != nil {
				return nil, err
			}
		} else if err := os.WriteFile(mainGo, orig, 0o644); err != nil {
			return nil, err
		} else {
			// As after the cold builds, the sources are older than
			// Gantry's racy window when the no-op is measured: a file
			// changed less than 2 s before a build is not trusted (see
			// docs/architecture.md), which a user editing and then
			// releasing twice would not notice.
			time.Sleep(2500 * time.Millisecond)
			for _, t := range tools { // warm up, unmeasured
				if _, err := t.build(false); err != nil {
					return nil, err
				}
			}
		}
		if err := record("warm no-op", false); err != nil {
			return nil, err
		}
		edit := append(bytes.Clone(orig), fmt.Sprintf("\n// bench edit %d\nvar benchEdit = %d\n", run, run)...)
		if err := os.WriteFile(mainGo, edit, 0o644); err != nil {
			return nil, err
		}
		if err := record("one-line change", false); err != nil {
			return nil, err
		}
		// A first push, then the measured repeat with nothing changed
		// (main.go outside the racy window, as in the no-op).
		time.Sleep(2500 * time.Millisecond)
		for _, t := range tools[1:] {
			if _, err := t.build(true); err != nil {
				return nil, err
			}
		}
		if err := record("repeat release+push", true); err != nil {
			return nil, err
		}
	}
	var rows []row
	for _, s := range scenarios {
		if len(samples[s]) == 0 {
			continue
		}
		r := row{app: a.name, scenario: s, median: map[string]time.Duration{}}
		for t, ds := range samples[s] {
			r.median[t] = median(ds)
		}
		rows = append(rows, r)
	}
	return rows, nil
}
