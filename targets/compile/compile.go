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
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	"github.com/gantrybuild/gantry/targets/internal/goenv"
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
	req, err := normalize(req)
	if err != nil {
		return nil, err
	}
	vars, err := checkEnvGOFLAGS(ctx, req)
	if err != nil {
		return nil, err
	}
	sc := newShortcut(req, vars)
	if err := os.MkdirAll(req.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating output directory: %w", err)
	}

	log := &lockedWriter{w: req.Log}
	var g errgroup.Group // not WithContext: one failure must not cancel the others
	g.SetLimit(req.Jobs)
	bins := make([]Binary, len(req.Platforms))
	errs := make([]error, len(req.Platforms))
	keys := make([]string, len(req.Platforms))
	for i, p := range req.Platforms {
		g.Go(func() error {
			bins[i], keys[i], errs[i] = build(ctx, req, p, sc, log)
			return nil
		})
	}
	_ = g.Wait()
	if sc != nil {
		built := map[string]string{}
		for i, b := range bins {
			if errs[i] == nil && keys[i] != "" {
				built[b.Path] = keys[i]
			}
		}
		if err := sc.record(built); err != nil {
			fmt.Fprintf(log, "compile: %v (the next run will call go build)\n", err)
		}
	}

	var built []Binary
	for i, b := range bins {
		if errs[i] == nil {
			built = append(built, b)
		}
	}
	return built, errors.Join(errs...)
}

// build runs go build for one platform, unless the shortcut vouches for
// the binary already there. key is the shortcut's key of a binary go build
// wrote ("" when the shortcut is off or skipped the build).
func build(ctx context.Context, req Request, p v1.Platform, sc *shortcut, log io.Writer) (bin Binary, key string, err error) {
	out := filepath.Join(req.OutDir, req.Name+"_"+platform.FileSuffix(p))
	args, err := Args(req, out)
	if err != nil {
		return Binary{}, "", err
	}
	env := Env(req.Env, p)
	if sc != nil {
		key = sc.key(args, env)
		if sc.upToDate(out, key) {
			fmt.Fprintf(log, "compile: %s for %s -> %s (up to date: no input changed since it was built)\n", req.Package, platform.String(p), out)
			return Binary{Platform: p, Path: out}, "", nil
		}
		sc.forget(out)
	}
	start := time.Now()
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
		fmt.Fprintf(log, "compile: %s for %s failed after %s\n", req.Package, platform.String(p), since(start))
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return Binary{}, "", fmt.Errorf("compiling %s for %s: %w\n%s", req.Package, platform.String(p), err, msg)
		}
		return Binary{}, "", fmt.Errorf("compiling %s for %s: %w", req.Package, platform.String(p), err)
	}
	fmt.Fprintf(log, "compile: %s for %s -> %s (%s)\n", req.Package, platform.String(p), out, since(start))
	return Binary{Platform: p, Path: out}, key, nil
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
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
