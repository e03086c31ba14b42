package inject

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/compile"
	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/internal/atomicfile"
	"github.com/gantrybuild/gantry/targets/internal/goenv"
	"github.com/gantrybuild/gantry/targets/internal/statcache"
)

// Request is one image's main package and the -X variables it asks for.
type Request struct {
	Dir      string // module directory (go list runs here)
	Main     string // main package relative to Dir, e.g. ./cmd/app
	Vars     []config.LinkVar
	Platform v1.Platform // the build's first platform: it selects the files
	Tags     []string
	Vendor   bool
	GoBin    string   // "" means "go"
	Env      []string // nil means os.Environ()

	// CacheFile remembers the plan with the stat signatures of every file
	// and directory it was read from, so that an unchanged tree answers
	// without go list; "" always asks go list.
	CacheFile string
}

// ForImage is the Request for an image built into out (its plan is
// remembered in out/cache/inject); goBin and env as for compile.Request.
func ForImage(t config.ResolvedImage, out, goBin string, env []string) Request {
	r := Request{
		Dir: t.Dir, Main: t.Main, Vars: t.LinkVars(), Tags: t.BuildTags, Vendor: t.Vendor,
		GoBin: goBin, Env: env, CacheFile: filepath.Join(out, "cache", "inject", t.Name+".json"),
	}
	if len(t.Platforms) > 0 {
		r.Platform = t.Platforms[0]
	}
	return r
}

// Resolve returns the image's injections (see Decide); the caller fails
// the build when Plan.Err is not nil.
func Resolve(ctx context.Context, req Request) (Plan, error) {
	plans, errs := ResolveAll(ctx, []Request{req})
	return plans[0], errs[0]
}

// listed is what go list -json says of a package.
type listed struct {
	ImportPath string
	Name       string
	Dir        string
	GoFiles    []string
	Standard   bool
	Module     *struct{ Main bool }
	Error      *struct{ Err string }
	Deps       []string `json:",omitempty"` // every package it imports, directly or not
	DepOnly    bool     `json:",omitempty"` // listed as a dependency only, not named
}

// scanned is what scan read for one image.
type scanned struct {
	pkgs     []Package
	mainPath string
	inputs   []string          // the files and directories read
	shapes   map[string]string // the shapes (goShape) of the Go files read
	// listed are the go list entries scanned (the main last), without their
	// Deps: what a later run scans again, without go list, when no input
	// changed in a way go list would see (see graphHolds).
	listed []listed
}

// load lists the main package's dependencies and scans the ones an
// injection may name: the packages of the main module and the packages of
// configured variables. inputs are the files and directories read.
func load(ctx context.Context, req Request, cache *scanCache) (scanned, error) {
	all, err := list(ctx, req, req.Main)
	if err != nil {
		return scanned{}, err
	}
	// -deps lists the named package last.
	return scan(req, all, cache)
}

// list runs one go list -deps for the named main packages (of one module,
// with one set of build settings) and returns every package it printed,
// in its order: dependencies before the packages that import them.
func list(ctx context.Context, req Request, mains ...string) ([]listed, error) {
	args := []string{"list", "-e", "-deps", "-json=ImportPath,Name,Dir,GoFiles,Standard,Module,Error,Deps,DepOnly"}
	if req.Vendor {
		args = append(args, "-mod=vendor")
	}
	if len(req.Tags) > 0 {
		args = append(args, "-tags", strings.Join(req.Tags, ","))
	}
	args = append(args, mains...)
	cmd := exec.CommandContext(ctx, req.GoBin, args...)
	cmd.Dir, cmd.Env = req.Dir, compile.Env(req.Env, req.Platform)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing the packages of %s (to check the -X variables): %w\n%s", strings.Join(mains, " "), err, strings.TrimSpace(stderr.String()))
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	var all []listed
	for {
		var l listed
		if err := dec.Decode(&l); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading go list's answer for %s: %w", strings.Join(mains, " "), err)
		}
		all = append(all, l)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("go list found no package %s in %s", strings.Join(mains, " "), req.Dir)
	}
	return all, nil
}

// scan reads the packages of all, whose last entry is the main package,
// that an injection may name; cache answers for the packages whose files
// did not change.
func scan(req Request, all []listed, cache *scanCache) (scanned, error) {
	wanted := map[string]bool{}
	for _, v := range req.Vars {
		if p, _ := split(v.Symbol); p != "" {
			wanted[p] = true
		}
	}
	out := scanned{inputs: moduleFiles(req.Dir), mainPath: all[len(all)-1].ImportPath, shapes: map[string]string{}}
	fset := token.NewFileSet()
	for i, l := range all {
		if l.Error != nil && i == len(all)-1 {
			return scanned{}, fmt.Errorf("loading %s: %s", req.Main, l.Error.Err)
		}
		own := l.Module != nil && l.Module.Main
		isMain := i == len(all)-1
		path := l.ImportPath
		if isMain {
			path = "main"
		}
		if l.Standard || !(own || isMain || wanted[l.ImportPath]) {
			continue
		}
		l.Deps = nil
		out.listed = append(out.listed, l)
		out.inputs = append(out.inputs, l.Dir)
		paths := make([]string, len(l.GoFiles))
		for j, name := range l.GoFiles {
			paths[j] = filepath.Join(l.Dir, name)
		}
		out.inputs = append(out.inputs, paths...)
		key := scanKey(l.ImportPath, isMain, own)
		pkg, shapes, ok := cache.get(key, paths)
		if !ok {
			readAt := time.Now()
			files := make([]*ast.File, len(paths))
			shapes = make([]string, len(paths))
			for j, p := range paths {
				src, err := os.ReadFile(p)
				if err == nil {
					files[j], err = parser.ParseFile(fset, p, src, parser.SkipObjectResolution)
				}
				if err != nil {
					return scanned{}, fmt.Errorf("reading %s: %w", p, err)
				}
				shapes[j] = goShape(fset, files[j], src)
			}
			pkg = Scan(path, isMain, own, files)
			cache.put(key, paths, shapes, readAt, pkg)
		}
		for j, p := range paths {
			out.shapes[p] = shapes[j]
		}
		out.pkgs = append(out.pkgs, pkg)
	}
	return out, nil
}

// ResolveAll is Resolve for several images. The ones the cache does not
// answer, when they share a module and build settings, are listed by one go
// list for all their main packages (each go list loads the module's
// package graph, which several images share) and each plan is decided from
// its own main's dependencies. A group whose go list fails is resolved
// image by image, so each error names its image.
func ResolveAll(ctx context.Context, reqs []Request) ([]Plan, []error) {
	reqs = slices.Clone(reqs) // defaults are filled in below
	plans, errs := make([]Plan, len(reqs)), make([]error, len(reqs))
	type miss struct {
		i   int
		key string
	}
	caches := map[string]*scanCache{} // by file: the images of one output share it
	scanCacheFor := func(planFile string) *scanCache {
		file := scanCacheFile(planFile)
		if caches[file] == nil {
			caches[file] = loadScanCache(file)
		}
		return caches[file]
	}
	groups := map[string][]miss{}
	var order []string
	for i := range reqs {
		req := &reqs[i]
		if req.GoBin == "" {
			req.GoBin = "go"
		}
		if req.Env == nil {
			req.Env = os.Environ()
		}
		vars, err := goenv.Read(ctx, req.GoBin, req.Dir, req.Env)
		if err != nil {
			errs[i] = err
			continue
		}
		key := cacheKey(*req, vars)
		start := time.Now() // before the shapes are read: a change after it is not recorded
		rec, state := loadCache(req.CacheFile, key)
		switch state {
		case planHolds:
			plans[i] = rec.Plan
			continue
		case graphHolds:
			// Edits go list would not see (function bodies, declarations):
			// the recorded listing is scanned again, the changed packages
			// parsed, without go list.
			sc, err := scan(*req, rec.Listed, scanCacheFor(req.CacheFile))
			if err == nil {
				plans[i] = Decide(req.Main, sc.mainPath, req.Vars, sc.pkgs)
				saveCache(req.CacheFile, key, sc, start, plans[i])
				continue
			}
		}
		g := fmt.Sprintf("%s\x00%v\x00%q\x00%s\x00%s", req.Dir, req.Vendor, req.Tags, req.Platform.String(), req.GoBin)
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], miss{i: i, key: key})
	}
	for _, g := range order {
		ms := groups[g]
		first := reqs[ms[0].i]
		start := time.Now()
		var all []listed
		var err error
		if len(ms) > 1 {
			mains := make([]string, len(ms))
			for j, m := range ms {
				mains[j] = reqs[m.i].Main
			}
			all, err = list(ctx, first, mains...)
		}
		cache := scanCacheFor(first.CacheFile)
		for _, m := range ms {
			req := reqs[m.i]
			var sc scanned
			var lerr error
			if own, ok := ownDeps(all, req); err == nil && ok {
				sc, lerr = scan(req, own, cache)
			} else {
				sc, lerr = load(ctx, req, cache)
			}
			if lerr != nil {
				errs[m.i] = lerr
				continue
			}
			plans[m.i] = Decide(req.Main, sc.mainPath, req.Vars, sc.pkgs)
			if req.CacheFile != "" {
				saveCache(req.CacheFile, m.key, sc, start, plans[m.i])
			}
		}
	}
	for _, c := range caches {
		c.save()
	}
	return plans, errs
}

// ownDeps picks req's main package and its dependencies out of a go list
// of several mains, in go list's order with the main last, as a go list of
// that main alone prints them. ok is false when the main is not among them.
func ownDeps(all []listed, req Request) ([]listed, bool) {
	dir := filepath.Clean(filepath.Join(req.Dir, req.Main))
	mainAt := -1
	for i, l := range all {
		if !l.DepOnly && filepath.Clean(l.Dir) == dir {
			mainAt = i
			break
		}
	}
	if mainAt < 0 {
		return nil, false
	}
	deps := map[string]bool{}
	for _, d := range all[mainAt].Deps {
		deps[d] = true
	}
	var own []listed
	for i, l := range all {
		if i != mainAt && deps[l.ImportPath] {
			own = append(own, l)
		}
	}
	return append(own, all[mainAt]), true
}

// moduleFiles are the files besides the packages' sources that decide what
// go list answers.
func moduleFiles(dir string) []string {
	var out []string
	for _, f := range []string{"go.mod", "go.sum", "go.work", filepath.Join("vendor", "modules.txt")} {
		out = append(out, filepath.Join(dir, f))
	}
	return out
}

func cacheKey(req Request, vars goenv.Vars) string {
	h := sha256.New()
	fmt.Fprintf(h, "gantry inject 2\n%s\n%s\n%v\n%v\n", req.Dir, req.Main, req.Tags, req.Vendor)
	for _, kv := range compile.Env(nil, req.Platform) {
		fmt.Fprintf(h, "env %s\n", kv)
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range vars.Build {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(h, "go env %s=%q\n", k, vars.Build[k])
	}
	for _, v := range req.Vars {
		fmt.Fprintf(h, "var %q %q %q %v\n", v.Role, v.Field, v.Symbol, v.Explicit)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// racyWindow is statcache.RacyWindow; tests shorten it.
var racyWindow = statcache.RacyWindow

type record struct {
	Key    string
	Inputs map[string]string // path → stat signature ("-" for absent)
	// Shapes holds, for each directory and Go file of Inputs, what go list
	// reads of it (see shapeOf), and Listed the entries scanned: an input
	// whose signature changed but whose shape did not leaves go list's
	// answer as it was.
	Shapes map[string]string
	Listed []listed
	Plan   Plan
}

// What a recorded plan is still worth.
const (
	planMisses = iota // list again
	graphHolds        // go list would answer the same: scan Listed again
	planHolds         // nothing changed
)

func signatureOf(p string) (string, time.Time, bool) {
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return "-", time.Time{}, true
	}
	if err != nil {
		return "", time.Time{}, false
	}
	return statcache.Signature(fi)
}

func loadCache(file, key string) (record, int) {
	if file == "" {
		return record{}, planMisses
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return record{}, planMisses
	}
	var r record
	if json.Unmarshal(raw, &r) != nil || r.Key != key || len(r.Inputs) == 0 {
		return record{}, planMisses
	}
	state := planHolds
	for p, want := range r.Inputs {
		if got, _, ok := signatureOf(p); !ok || got != want {
			shape, recorded := r.Shapes[p]
			if !recorded || len(r.Listed) == 0 || shape == "" || shapeOf(p) != shape {
				return record{}, planMisses
			}
			state = graphHolds
		}
	}
	return r, state
}

// saveCache records the plan unless an input changed too shortly before
// the read began to trust its signature (or changed since).
func saveCache(file, key string, sc scanned, readAt time.Time, plan Plan) {
	r := record{Key: key, Inputs: map[string]string{}, Shapes: map[string]string{}, Listed: sc.listed, Plan: plan}
	for _, p := range sc.inputs {
		// The Go files' shapes are from scan's read of them, the others'
		// are read now; either way before the signature, so that a change
		// after it is seen by it.
		shape, read := sc.shapes[p]
		if !read {
			shape = shapeOf(p)
		}
		sig, changed, ok := signatureOf(p)
		if !ok || (sig != "-" && !changed.Before(readAt.Add(-racyWindow))) {
			return
		}
		r.Inputs[p] = sig
		if shape != "" {
			r.Shapes[p] = shape
		}
	}
	raw, err := json.Marshal(r)
	if err != nil {
		return
	}
	if os.MkdirAll(filepath.Dir(file), 0o755) == nil {
		_ = atomicfile.Write(file, raw)
	}
}
