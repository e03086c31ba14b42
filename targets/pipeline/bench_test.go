package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/internal/testrepo"
	"github.com/gantrybuild/gantry/targets/pipeline"
)

// The large real CLI the benchmarks build: gopls, from the module cache
// (downloaded once through the Go module proxy, then offline). Its binaries
// are 42 MB unstripped, 30 MB with -s -w.
const (
	bigModule  = "golang.org/x/tools/gopls"
	bigVersion = "v0.23.0"
)

// benchPlatforms are the platforms every benchmark builds.
var benchPlatforms = []string{"amd64", "arm64"}

// benchApp is a module the benchmarks build: a git work tree whose root
// package is main.
type benchApp struct {
	name string
	dir  string
}

// benchEdit is the file the code-change state rewrites: one constant that
// reaches the binary through an init function.
const benchEditFile = "gantry_bench_edit.go"

func writeBenchEdit(tb testing.TB, dir string, n int) {
	tb.Helper()
	src := fmt.Sprintf(`package main

import "os"

const gantryBenchEdit = "edit %d"

func init() {
	if len(os.Args) > 1 && os.Args[1] == "gantry-bench-edit" {
		println(gantryBenchEdit)
	}
}
`, n)
	if err := os.WriteFile(filepath.Join(dir, benchEditFile), []byte(src), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// helloApp is testdata/hello in a git repository.
func helloApp(b *testing.B) benchApp {
	dir := filepath.Join(b.TempDir(), "hello")
	if err := testrepo.CopyTree(filepath.Join(testrepo.TestdataDir(), "hello"), dir); err != nil {
		b.Fatal(err)
	}
	return initApp(b, "hello", dir)
}

// bigApp copies gopls from the module cache (downloading it when it is not
// there), vendors its dependencies, so vendor:check has real work, and makes
// it a git repository. It skips when the module cannot be had.
func bigApp(b *testing.B) benchApp {
	tmp := b.TempDir()
	cmd := exec.Command("go", "mod", "download", "-json", bigModule+"@"+bigVersion)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	out, err := cmd.Output()
	var m struct{ Dir, Error string }
	_ = json.Unmarshal(out, &m)
	if err != nil || m.Dir == "" {
		b.Skipf("skipping %s: %s@%s is not in the module cache and could not be downloaded (%v %s); run `go mod download -json %s@%s` once with network access",
			bigModule, bigModule, bigVersion, err, m.Error, bigModule, bigVersion)
	}
	dir := filepath.Join(tmp, "gopls")
	if err := testrepo.CopyTree(m.Dir, dir); err != nil {
		b.Fatal(err)
	}
	vendor := exec.Command("go", "mod", "vendor")
	vendor.Dir = dir
	vendor.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	if out, err := vendor.CombinedOutput(); err != nil {
		b.Skipf("skipping %s: go mod vendor failed (its dependencies are not in the module cache and could not be downloaded?): %v\n%s", bigModule, err, out)
	}
	return initApp(b, "gopls", dir)
}

func initApp(b *testing.B, name, dir string) benchApp {
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("/dist/\n/gobuild/\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	writeBenchEdit(b, dir, 0)
	testrepo.Init(b, dir, name)
	return benchApp{name: name, dir: dir}
}

// benchEnv is the environment of every go command: the test's (GOFLAGS
// unset), with GOCACHE replaced when gocache is not "".
func benchEnv(gocache string) []string {
	env := os.Environ()
	if gocache != "" {
		env = append(env, "GOCACHE="+gocache)
	}
	return env
}

// goBuild is the baseline: plain `go build` of both platforms in parallel
// to stable paths, with the flags Gantry uses (-trimpath, -s -w, no VCS
// stamping) and one -X value.
func goBuild(ctx context.Context, app benchApp, env []string, x string) error {
	var g errgroup.Group
	for _, arch := range benchPlatforms {
		g.Go(func() error {
			out := filepath.Join(app.dir, "gobuild", app.name+"_linux_"+arch)
			cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
				"-ldflags", "-s -w -X main.gantryBenchLink="+x, "-o", out, ".")
			cmd.Dir = app.dir
			cmd.Env = append(env, "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("go build for linux/%s: %v\n%s", arch, err, out)
			}
			return nil
		})
	}
	return g.Wait()
}

// gantry runs what `go tool mage release` runs, in a fresh process as mage would
// (so that nothing a previous run remembered in memory helps): load the
// configuration, read git, then Compile + Layout + Index, or the whole
// Release (with vendor:check). It returns the process's peak live heap.
func gantry(ctx context.Context, app benchApp, env []string, genv map[string]string, full bool) (driverResult, error) {
	var res driverResult
	spec, err := json.Marshal(driverSpec{Dir: app.dir, Env: genv, Full: full})
	if err != nil {
		return res, err
	}
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestBenchDriver$", "-test.count=1")
	cmd.Env = append(env, "GANTRY_BENCH_DRIVER="+string(spec))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return res, fmt.Errorf("gantry in %s: %v\n%s", app.dir, err, out)
	}
	res.steps = map[string]float64{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "peak-heap-bytes":
			res.peakHeap, _ = strconv.ParseUint(f[1], 10, 64)
		case len(f) == 3 && f[0] == "step":
			res.steps[f[1]], _ = strconv.ParseFloat(f[2], 64)
		}
	}
	return res, nil
}

// driverResult is what TestBenchDriver reports: its peak live heap and the
// seconds each step took in the process.
type driverResult struct {
	peakHeap uint64
	steps    map[string]float64 // config+git, compile, layout, index (or release), total
}

// driverSpec is one Gantry run for TestBenchDriver.
type driverSpec struct {
	Dir  string
	Env  map[string]string // what Gantry reads through config.Env
	Full bool              // Release, not Compile + Layout + Index
}

// TestBenchDriver is not a test: BenchmarkPipeline runs the test binary with
// GANTRY_BENCH_DRIVER set to run one Gantry build in a fresh process.
func TestBenchDriver(t *testing.T) {
	raw := os.Getenv("GANTRY_BENCH_DRIVER")
	if raw == "" {
		t.Skip("run by BenchmarkPipeline")
	}
	var spec driverSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stop := sampleHeap()
	start := time.Now()
	step := func(name string, f func() error) error {
		t0 := time.Now()
		err := f()
		fmt.Printf("step %s %.6f\n", name, time.Since(t0).Seconds())
		return err
	}
	err := func() error {
		var cfg *config.Config
		var b *pipeline.Build
		err := step("config+git", func() (err error) {
			if cfg, err = config.Load(config.Project{}, config.MapEnv(spec.Env), spec.Dir); err != nil {
				return err
			}
			b, err = pipeline.New(ctx, cfg, pipeline.Options{Log: io.Discard})
			return err
		})
		if err != nil {
			return err
		}
		if spec.Full {
			return step("release", func() error { return b.Release(ctx) })
		}
		if err := step("compile", func() error { return b.Compile(ctx, nil) }); err != nil {
			return err
		}
		if err := step("layout", func() error { return b.Layout(ctx) }); err != nil {
			return err
		}
		return step("index", func() error { return b.Index(ctx) })
	}()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("step total %.6f\n", time.Since(start).Seconds())
	fmt.Printf("step self-cpu %.6f\n", selfCPU().Seconds())
	fmt.Printf("peak-heap-bytes %d\n", stop())
}

// benchStates are the states a build starts from.
var benchStates = []struct {
	name string
	cold bool // only with GANTRY_BENCH_COLD=1
}{
	{"noop", false},   // nothing changed since the last build
	{"relink", false}, // an -X value changed: both binaries relink (Gantry's also repack)
	{"change", false}, // a one-line change in package main: it recompiles, both binaries relink
	{"cold", true},    // empty GOCACHE and no previous output
}

// benchVariants are what is measured from each state: plain go build;
// Gantry's Compile + Layout + Index; Gantry's whole Release.
var benchVariants = []string{"gobuild", "gantry-build", "gantry-release"}

// benchCounter makes every relink or edit unique across processes, so no
// iteration hits a build cache entry an earlier one filled.
var benchCounter = int(time.Now().Unix() % 1e6 * 1000)

// benchResults holds the median seconds per "app/state/variant".
var benchResults = struct {
	sync.Mutex
	m map[string]float64
}{m: map[string]float64{}}

func recordResult(key string, s float64) {
	benchResults.Lock()
	defer benchResults.Unlock()
	benchResults.m[key] = s
}

func result(key string) (float64, bool) {
	benchResults.Lock()
	defer benchResults.Unlock()
	s, ok := benchResults.m[key]
	return s, ok
}

// BenchmarkPipeline builds testdata/hello and gopls for linux/amd64 and
// linux/arm64 with plain `go build` and with Gantry, from the same states,
// side by side. Each iteration runs the three variants in turn (gobuild;
// gantry-build: config, git, Compile + Layout + Index, as `mage` runs them;
// gantry-release: the whole Release with vendor:check and the summary), so
// that a busy machine slows them alike, and reports each one's median
// seconds and its overhead over go build (ns/op is the three together),
// and gantry-build-own-s: the seconds Gantry's build process spent outside
// its go build commands, which does not depend on how fast those ran, and
// gantry-build-own-cpu-s: the CPU seconds of that process alone (not of
// the go commands), which a busy machine distorts least.
// The cold state (an empty GOCACHE: minutes for gopls) runs only with
// GANTRY_BENCH_COLD=1. Run it with
//
//	go test ./targets/pipeline -run '^$' -bench Pipeline -benchtime 5x
//
// and see docs/benchmarks.md for the results.
func BenchmarkPipeline(b *testing.B) {
	apps := []struct {
		name  string
		setup func(*testing.B) benchApp
	}{{"hello", helloApp}, {"gopls", bigApp}}
	cold := os.Getenv("GANTRY_BENCH_COLD") == "1"
	for _, a := range apps {
		b.Run(a.name, func(b *testing.B) {
			app := a.setup(b)
			for _, st := range benchStates {
				if st.cold && !cold {
					continue
				}
				b.Run(st.name, func(b *testing.B) { benchState(b, app, st.name) })
			}
			logTable(b, app.name)
		})
	}
}

// benchState measures the variants from one state.
func benchState(b *testing.B, app benchApp, state string) {
	ctx := context.Background()
	genv := map[string]string{"GANTRY_ALLOW_DIRTY": "1", "SOURCE_DATE_EPOCH": "1700000000"}
	if v, ok := os.LookupEnv("GANTRY_SBOM"); ok {
		genv["GANTRY_SBOM"] = v // GANTRY_SBOM=0 measures release without its SBOM step
	}
	run := func(variant string, env []string, x string) (driverResult, error) {
		if variant == "gobuild" {
			return driverResult{}, goBuild(ctx, app, env, x)
		}
		return gantry(ctx, app, env, genv, variant == "gantry-release")
	}
	// Warm up: the state starts from a finished build.
	if state != "cold" {
		for _, v := range benchVariants {
			if _, err := run(v, benchEnv(""), "0"); err != nil {
				b.Fatal(err)
			}
		}
	}
	times := map[string][]float64{}
	cpus := map[string][]float64{}
	var own []float64    // gantry build's own seconds: all but its go build (compile) step
	var ownCPU []float64 // gantry build's own CPU seconds (its process, not the go commands)
	var peak uint64
	for b.Loop() {
		for _, v := range benchVariants {
			b.StopTimer()
			benchCounter++
			env, x := benchEnv(""), "0"
			genv["SOURCE_DATE_EPOCH"] = "1700000000"
			switch state {
			case "relink":
				x = strconv.Itoa(benchCounter)
				genv["SOURCE_DATE_EPOCH"] = strconv.Itoa(1_700_000_000 + benchCounter)
			case "change":
				writeBenchEdit(b, app.dir, benchCounter)
			case "cold":
				env = benchEnv(b.TempDir())
				for _, d := range []string{"dist", "gobuild"} {
					if err := os.RemoveAll(filepath.Join(app.dir, d)); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StartTimer()
			start, startCPU := time.Now(), cpuTime()
			res, err := run(v, env, x)
			if err != nil {
				b.Fatal(err)
			}
			peak = max(peak, res.peakHeap)
			if v == "gantry-build" {
				own = append(own, res.steps["total"]-res.steps["compile"])
				ownCPU = append(ownCPU, res.steps["self-cpu"])
			}
			times[v] = append(times[v], time.Since(start).Seconds())
			cpus[v] = append(cpus[v], (cpuTime() - startCPU).Seconds())
		}
	}
	for _, v := range benchVariants {
		t, c := median(times[v]), median(cpus[v])
		recordResult(app.name+"/"+state+"/"+v, t)
		b.ReportMetric(t, v+"-s")
		b.ReportMetric(c, v+"-cpu-s")
		if v != "gobuild" {
			b.ReportMetric(t-median(times["gobuild"]), v+"-overhead-s")
		}
	}
	recordResult(app.name+"/"+state+"/own", median(own))
	b.ReportMetric(median(own), "gantry-build-own-s")
	recordResult(app.name+"/"+state+"/own-cpu", median(ownCPU))
	b.ReportMetric(median(ownCPU), "gantry-build-own-cpu-s")
	b.ReportMetric(float64(peak)/(1<<20), "gantry-peak-heap-MB")
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// sampleHeap samples the heap every 10 ms until the returned
// function is called, which returns its peak above the starting level.
func sampleHeap() func() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	base := s[0].Value.Uint64()
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(10 * time.Millisecond) // a pack holds its buffers for far longer
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > base {
				peak = max(peak, v-base)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// logTable prints the app's results side by side.
func logTable(b *testing.B, app string) {
	var sb strings.Builder
	tw := tabwriter.NewWriter(&sb, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\tgo build\tgantry build\tgantry release\toverhead (build)\toverhead (release)\tgantry's own\tits CPU\t\n", app)
	for _, st := range benchStates {
		g, ok := result(app + "/" + st.name + "/gobuild")
		if !ok {
			continue
		}
		bld, _ := result(app + "/" + st.name + "/gantry-build")
		rel, _ := result(app + "/" + st.name + "/gantry-release")
		own, _ := result(app + "/" + st.name + "/own")
		ownCPU, _ := result(app + "/" + st.name + "/own-cpu")
		fmt.Fprintf(tw, "%s\t%.2f s\t%.2f s\t%.2f s\t%+.3f s\t%+.3f s\t%.3f s\t%.3f s\t\n", st.name, g, bld, rel, bld-g, rel-g, own, ownCPU)
	}
	tw.Flush()
	b.Logf("\n%s", sb.String())
}
