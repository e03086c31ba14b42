// Package compile cross-compiles Go main packages for many platforms in
// parallel, reproducibly: CGO_ENABLED=0, -trimpath, -buildvcs=false,
// -ldflags "-s -w" with -X injection, and a stable output path per platform.
//
// Go's build ID is kept: under -trimpath it derives from the inputs only,
// and `go build -o` compares it with the one in an existing output file, so
// an unchanged binary is neither relinked nor rewritten. go build still
// touches its mtime, on purpose, so key caches on content, not mtime.
package compile

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
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/mod/modfile"
	"golang.org/x/sync/errgroup"

	"github.com/gantrybuild/gantry/targets/internal/goenv"
	"github.com/gantrybuild/gantry/targets/internal/shared"
	"github.com/gantrybuild/gantry/targets/platform"
)

// Request is one main package to build for several platforms.
type Request struct {
	Dir       string            // module directory: go build runs here ("" means the current dir)
	Package   string            // main package, relative to Dir ("." or "./cmd/x")
	Name      string            // binary name: outputs are OutDir/<Name>_<os>_<arch>[_<variant>]; "" means the package's last path element
	OutDir    string            // e.g. dist/bin (absolute or relative to the current dir); created if missing
	Platforms []v1.Platform     // see package platform; normalised by Run
	Vars      map[string]string // -X name=value pairs (version, revision, build time)
	Ldflags   []string          // extra linker arguments after "-s -w" and the -X pairs, one per element
	Tags      []string          // build tags
	Vendor    bool              // add -mod=vendor
	GoBin     string            // the go command; "" means "go"
	Env       []string          // base environment; nil means os.Environ()
	Jobs      int               // max parallel builds; <= 0 means runtime.NumCPU()
	Log       io.Writer         // one progress line per platform; nil means discard

	// StampDir keeps a record of each binary's inputs, so that a later Run
	// with nothing changed skips go build (see shortcut); "" always runs
	// go build. Exclude lists directories under Dir that the build does not
	// read and that change between runs (the output root, e.g. dist).
	StampDir string
	Exclude  []string
}

// Binary is one built executable.
type Binary struct {
	Platform v1.Platform
	Path     string // absolute
}

// Run builds req.Package for every platform, in parallel bounded by Jobs,
// and returns the binaries in the order of req.Platforms.
//
// The environment is req.Env with CGO_ENABLED=0 and platform.GoEnv forced
// (inherited CGO_ENABLED, GOOS, GOARCH and level settings such as GOAMD64 are
// dropped), so a binary always matches its platform label and is static.
// GOFLAGS, as `go env GOFLAGS` reports it (environment or go env -w; read
// once per process for the same directory and environment), must
// pass CheckGOFLAGS before anything builds.
//
// A failed platform's error names the package and platform and carries the
// compiler's output; the other platforms still build, all errors are joined,
// and the binaries that did build are returned with the error.
func Run(ctx context.Context, req Request) ([]Binary, error) {
	res, err := RunAll(ctx, []Request{req})
	if err != nil {
		return nil, err
	}
	return res[0].Binaries, res[0].Err
}

// Result is what RunAll built for one request: its binaries in the order of
// its platforms, and the joined errors of the platforms that failed.
type Result struct {
	Binaries []Binary
	Err      error
}

// RunAll builds several requests as Run builds one, with as few go builds
// as their settings allow: the binaries of requests that share a module
// directory, go command, environment and build flags (tags, ldflags and -X
// values, vendor mode) are built for each platform by one
// `go build -o dir/ pkg1 pkg2 …` (see plan). The platforms build in
// parallel, at most the first request's Jobs at once; each request logs to
// its own Log. The error is for a request that is invalid, before anything
// builds; build failures are in each request's Result.
func RunAll(ctx context.Context, reqs []Request) ([]Result, error) {
	type module struct {
		sc   *shortcut
		path string // module path, for execName
	}
	modules := map[string]*module{}
	reqs = slices.Clone(reqs) // normalised in place
	var units []unit
	var specs []spec
	for i := range reqs {
		req, err := normalize(reqs[i])
		if err != nil {
			return nil, name(reqs, i, err)
		}
		reqs[i] = req
		vars, err := checkEnvGOFLAGS(ctx, req)
		if err != nil {
			return nil, err
		}
		mkey := strings.Join([]string{req.Dir, req.GoBin, req.StampDir, req.OutDir, strings.Join(req.Exclude, "\x01"), lookup(req.Env, "GOFLAGS")}, "\x00")
		m := modules[mkey]
		if m == nil {
			sc, why := newShortcut(req, vars)
			noteOff(req.Log, req.Dir, why)
			m = &module{sc: sc, path: modulePath(req.Dir)}
			modules[mkey] = m
		}
		if err := os.MkdirAll(req.OutDir, 0o755); err != nil {
			return nil, fmt.Errorf("creating output directory: %w", err)
		}
		flags, err := buildFlags(req)
		if err != nil {
			return nil, name(reqs, i, err)
		}
		for _, p := range req.Platforms {
			out := filepath.Join(req.OutDir, req.Name+"_"+platform.FileSuffix(p)+platform.Exe(p))
			env := Env(req.Env, p)
			exe := execName(m.path, req.Package)
			if exe != "" {
				exe += platform.Exe(p) // go build -o dir/ names a windows binary <name>.exe
			}
			sp := spec{req: i, plat: p, out: out, flags: flags, env: env, sc: m.sc, exe: exe}
			if m.sc != nil {
				args, err := Args(req, out)
				if err != nil {
					return nil, err
				}
				sp.key = m.sc.key(args, env)
			}
			specs = append(specs, sp)
			units = append(units, unit{req: i, group: groupOf(req, flags, env), pkg: req.Package, exe: sp.exe})
		}
	}

	var logMu sync.Mutex // requests may share a Log
	logs := make([]io.Writer, len(reqs))
	for i, req := range reqs {
		logs[i] = &lockedWriter{mu: &logMu, w: req.Log}
	}
	jobs := 1
	if len(reqs) > 0 {
		jobs = reqs[0].Jobs
	}
	var g errgroup.Group // not WithContext: one failure must not cancel the others
	g.SetLimit(jobs)
	errs := make([]error, len(specs))
	built := make([]bool, len(specs)) // go build wrote it (the shortcut did not vouch for it)
	stages := map[string][]string{}   // OutDir -> staging directories of this run
	for _, batch := range plan(units) {
		if len(batch) == 1 {
			i := batch[0]
			g.Go(func() error {
				built[i], errs[i] = build(ctx, reqs[specs[i].req], specs[i], logs[specs[i].req])
				return nil
			})
			continue
		}
		req, first := reqs[specs[batch[0]].req], specs[batch[0]]
		pkgs := make([]string, len(batch))
		for j, i := range batch {
			pkgs[j] = reqs[specs[i].req].Package
		}
		stage := stageDir(req, first.flags, first.env, pkgs)
		stages[req.OutDir] = append(stages[req.OutDir], stage)
		g.Go(func() error {
			b, err := buildBatch(ctx, reqs, specs, batch, pkgs, stage, logs)
			for _, i := range batch {
				built[i], errs[i] = b, err
			}
			return nil
		})
	}
	_ = g.Wait()
	for outDir, used := range stages {
		pruneStages(outDir, used, time.Now())
	}

	stamps := map[*shortcut]map[string]string{}
	for i, sp := range specs {
		if sp.sc != nil && built[i] && errs[i] == nil {
			if stamps[sp.sc] == nil {
				stamps[sp.sc] = map[string]string{}
			}
			stamps[sp.sc][sp.out] = sp.key
		}
	}
	for sc, outs := range stamps {
		if err := sc.record(outs); err != nil {
			fmt.Fprintf(logs[0], "compile: %v (the next run will call go build)\n", err)
		}
	}

	res := make([]Result, len(reqs))
	perReq := make([][]error, len(reqs))
	for i, sp := range specs {
		if errs[i] != nil {
			perReq[sp.req] = append(perReq[sp.req], errs[i])
			continue
		}
		res[sp.req].Binaries = append(res[sp.req].Binaries, Binary{Platform: sp.plat, Path: sp.out})
	}
	for i := range res {
		res[i].Err = errors.Join(perReq[i]...)
	}
	return res, nil
}

// name adds to an error in one of several requests which one it is.
func name(reqs []Request, i int, err error) error {
	if len(reqs) == 1 {
		return err
	}
	n := reqs[i].Name
	if n == "" {
		n = reqs[i].Package
	}
	return fmt.Errorf("%s: %w", n, err)
}

// spec is one binary to produce: a request's package for one platform.
type spec struct {
	req   int
	plat  v1.Platform
	out   string
	flags []string  // go build's flags (buildFlags)
	env   []string  // Env for plat
	sc    *shortcut // nil: off
	key   string    // the shortcut's key of this binary
	exe   string    // the name go build -o dir/ gives it (execName)
}

// build runs go build for one binary, unless the shortcut vouches for the
// one already there; built reports whether go build wrote it.
func build(ctx context.Context, req Request, sp spec, log io.Writer) (built bool, err error) {
	if sp.sc != nil {
		if sp.sc.upToDate(sp.out, sp.key) {
			fmt.Fprintf(log, "compile: %s for %s -> %s (up to date: no input changed since it was built)\n", req.Package, platform.String(sp.plat), shared.RelPath(sp.out))
			return false, nil
		}
		sp.sc.forget(sp.out)
	}
	start := time.Now()
	args := append(slices.Clip(sp.flags), "-o", sp.out, req.Package)
	if err := runGo(ctx, req, args, sp.env); err != nil {
		fmt.Fprintf(log, "compile: %s for %s failed after %s\n", req.Package, platform.String(sp.plat), since(start))
		return false, fmt.Errorf("compiling %s for %s: %w", req.Package, platform.String(sp.plat), err)
	}
	fmt.Fprintf(log, "compile: %s for %s -> %s (%s)\n", req.Package, platform.String(sp.plat), shared.RelPath(sp.out), since(start))
	return true, nil
}

// runGo runs the go command in req.Dir; its error carries go's output.
func runGo(ctx context.Context, req Request, args, env []string) error {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, req.GoBin, args...)
	cmd.Dir = req.Dir
	cmd.Env = env
	cmd.Stdout = &stderr // go build prints nothing on stdout unless -json or -x is in GOFLAGS
	cmd.Stderr = &stderr
	// Interrupt first so go build removes its $WORK directory.
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return fmt.Errorf("%w\n%s", err, msg)
		}
		return err
	}
	return nil
}

// modulePath is the module path in dir's go.mod, or "" (then no binary
// of a relative package can share a go build).
func modulePath(dir string) string {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return ""
	}
	return modfile.ModulePath(data)
}

// normalize applies Request's defaults and validates it, so the rest of the
// package can trust it. OutDir and Dir become absolute.
func normalize(req Request) (Request, error) {
	if req.Package == "" {
		return req, errors.New("compile: no package to build: set Package, e.g. \".\" or \"./cmd/app\"")
	}
	if req.OutDir == "" {
		return req, errors.New("compile: no output directory: set OutDir, e.g. \"dist/bin\"")
	}
	if len(req.Platforms) == 0 {
		return req, fmt.Errorf("compile: no platforms to build %s for: set Platforms, e.g. linux/amd64,linux/arm64", req.Package)
	}
	var err error
	if req.Dir, err = filepath.Abs(req.Dir); err != nil {
		return req, fmt.Errorf("compile: resolving module directory: %w", err)
	}
	if req.OutDir, err = filepath.Abs(req.OutDir); err != nil {
		return req, fmt.Errorf("compile: resolving output directory: %w", err)
	}
	if req.Name == "" {
		req.Name = path.Base(filepath.ToSlash(req.Package))
		if req.Name == "." || req.Name == "/" {
			req.Name = filepath.Base(req.Dir)
		}
	}
	if strings.ContainsAny(req.Name, `/\`) {
		return req, fmt.Errorf("compile: binary name %q contains a path separator: set Name to a plain file name", req.Name)
	}
	ps := make([]v1.Platform, len(req.Platforms))
	seen := map[string]bool{}
	for i, p := range req.Platforms {
		if ps[i], err = platform.Normalize(p); err != nil {
			return req, fmt.Errorf("compile: platform %q: %w", platform.String(p), err)
		}
		s := platform.String(ps[i])
		if seen[s] {
			return req, fmt.Errorf("compile: platform %s is listed twice (after normalisation): list it once", s)
		}
		seen[s] = true
	}
	req.Platforms = ps
	if req.GoBin == "" {
		req.GoBin = "go"
	}
	if req.Env == nil {
		req.Env = os.Environ()
	}
	if req.Jobs <= 0 {
		req.Jobs = runtime.NumCPU()
	}
	if req.Log == nil {
		req.Log = io.Discard
	}
	return req, nil
}

// checkEnvGOFLAGS checks GOFLAGS as the go command will see it, which
// includes a value set with go env -w, at the cost of one `go env` run per
// process.
func checkEnvGOFLAGS(ctx context.Context, req Request) (goenv.Vars, error) {
	vars, err := goenv.Read(ctx, req.GoBin, req.Dir, req.Env)
	if err != nil {
		return vars, err
	}
	if err := CheckGOFLAGS(vars.GOFLAGS); err != nil {
		where := "GOFLAGS in the environment"
		if lookup(req.Env, "GOFLAGS") == "" {
			where = "GOFLAGS set with go env -w (go env -u GOFLAGS removes it)"
		}
		return vars, fmt.Errorf("%s cannot be used for a reproducible build:\n%w", where, err)
	}
	return vars, nil
}

func lookup(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

func since(t time.Time) time.Duration {
	return time.Since(t).Round(time.Millisecond)
}

// lockedWriter serialises progress lines from parallel builds.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
