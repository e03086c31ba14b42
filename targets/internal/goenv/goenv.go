// Package goenv reads the go command's settings that Gantry's steps need
// (GOFLAGS for compile, GOROOT for the static base, GOVERSION and GOMODCACHE
// for vendorcheck's cache keys) with one `go env -json`, once per process for
// the same go command, directory and environment.
package goenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/gantrybuild/gantry/targets/platform"
)

// Vars are the settings as the go command sees them: from the environment
// or set with `go env -w`.
type Vars struct {
	GOFLAGS    string
	GOROOT     string
	GOVERSION  string
	GOMODCACHE string
	GOTOOLDIR  string
	GOWORK     string
	GOPATH     string // a list, as the go command reads it
	GOCACHE    string

	// Build holds every setting read that can change what go build
	// produces (the ones above and GOEXPERIMENT, architecture levels set
	// with go env -w, …), by name.
	Build map[string]string
}

// CacheDirs are the directories the go command writes its caches and
// downloads into: each GOPATH entry (the module cache is under it unless
// GOMODCACHE moves it), GOMODCACHE and GOCACHE. CI systems that can cache
// only paths inside the project (GitLab) put them in the work tree.
func (v Vars) CacheDirs() []string {
	var out []string
	for _, p := range filepath.SplitList(v.GOPATH) {
		if p != "" {
			out = append(out, p)
		}
	}
	for _, p := range []string{v.GOMODCACHE, v.GOCACHE} {
		if p != "" && p != "off" {
			out = append(out, p)
		}
	}
	return out
}

// Toolchain identifies the toolchain: its version and root.
func (v Vars) Toolchain() string { return v.GOVERSION + " " + v.GOROOT }

type entry struct {
	done chan struct{}
	vars Vars
	err  error
}

var (
	mu   sync.Mutex
	memo = map[string]*entry{}
)

// Read runs `goBin env -json` in dir ("" means the current directory) with
// env (nil means os.Environ()). The settings that select a target platform
// (GOOS, GOARCH, CGO_ENABLED, GOAMD64, …) are dropped first: they do not
// change what is read, and an invalid one would fail the command. A
// successful answer is remembered for the rest of the process.
func Read(ctx context.Context, goBin, dir string, env []string) (Vars, error) {
	if goBin == "" {
		goBin = "go"
	}
	if env == nil {
		env = os.Environ()
	}
	env = hostEnv(env)
	key := goBin + "\x00" + dir + "\x00" + strings.Join(env, "\x00")

	mu.Lock()
	e, ok := memo[key]
	if !ok {
		e = &entry{done: make(chan struct{})}
		memo[key] = e
	}
	mu.Unlock()
	if ok {
		select {
		case <-e.done:
			return e.vars, e.err
		case <-ctx.Done():
			return Vars{}, ctx.Err()
		}
	}

	e.vars, e.err = run(ctx, goBin, dir, env)
	if e.err != nil {
		mu.Lock()
		delete(memo, key) // the next caller tries again
		mu.Unlock()
	}
	close(e.done)
	return e.vars, e.err
}

func run(ctx context.Context, goBin, dir string, env []string) (Vars, error) {
	var stderr bytes.Buffer
	names := append([]string{"GOFLAGS", "GOROOT", "GOVERSION", "GOMODCACHE", "GOTOOLDIR", "GOWORK", "GOPATH", "GOCACHE", "GOEXPERIMENT", "GOFIPS140", "GOTOOLCHAIN", "GOENV"}, platform.LevelVars()...)
	cmd := exec.CommandContext(ctx, goBin, append([]string{"env", "-json"}, names...)...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Vars{}, fmt.Errorf("reading the go command's settings with %s env: %w: %s", goBin, err, strings.TrimSpace(stderr.String()))
	}
	var v Vars
	if err := json.Unmarshal(out, &v); err != nil {
		return Vars{}, fmt.Errorf("reading the go command's settings with %s env -json: %w", goBin, err)
	}
	if err := json.Unmarshal(out, &v.Build); err != nil {
		return Vars{}, fmt.Errorf("reading the go command's settings with %s env -json: %w", goBin, err)
	}
	// Where the go command keeps its caches changes nothing it builds.
	delete(v.Build, "GOPATH")
	delete(v.Build, "GOCACHE")
	if v.GOROOT == "" {
		return Vars{}, fmt.Errorf("%s env printed no GOROOT: %q", goBin, out)
	}
	return v, nil
}

// hostEnv drops the settings that select a target platform.
func hostEnv(env []string) []string {
	drop := append([]string{"CGO_ENABLED", "GOOS", "GOARCH"}, platform.LevelVars()...)
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); !slices.Contains(drop, k) {
			out = append(out, kv)
		}
	}
	return out
}
