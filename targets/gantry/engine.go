package gantry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/gantrybuild/gantry/targets/config"
)

// engineMagefile is the magefile the engine is compiled from: every target
// of package targets, and init from targets/setup.
const engineMagefile = `//go:build mage

// Gantry's engine: the kit's targets, compiled by mage once per build module
// and toolchain (see package github.com/gantrybuild/gantry/targets/gantry).
package main

import (
	"github.com/gantrybuild/gantry/targets/setup"

	//mage:import
	_ "github.com/gantrybuild/gantry/targets"
	//mage:import
	_ "github.com/gantrybuild/gantry/targets/setup"
)

func init() { setup.WarnStaleTargets() }
`

// BuildModule is the module the magefiles are built in, seen from the
// directory mage runs targets in (the repository root): magefiles/ when it
// holds a go.mod of its own (the layout init writes), else the root module.
func BuildModule(root string) (string, error) {
	for _, dir := range []string{filepath.Join(root, "magefiles"), root} {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("no go.mod in %s or %s/magefiles: run go tool mage in the module's root directory", root, root)
}

// Engine returns the engine binary for the build module of root, building
// it first when the cache has none for the current Key.
func Engine(ctx context.Context, root string) (string, error) {
	dir, err := BuildModule(root)
	if err != nil {
		return "", err
	}
	key, parts, err := keyParts(dir)
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding a cache directory for Gantry's engine: %w (set XDG_CACHE_HOME)", err)
	}
	cache = filepath.Join(cache, "gantry", "engine")
	bin := filepath.Join(cache, key, "engine"+exeSuffix())
	if _, err := os.Stat(bin); err == nil {
		now := time.Now()
		os.Chtimes(filepath.Join(cache, key), now, now) // last used: removeOlder keeps the recent ones
		return bin, nil
	}
	if err := build(ctx, dir, cache, key, parts); err != nil {
		return "", err
	}
	return bin, nil
}

// keyFile, in an engine's directory, holds the parts of its key.
const keyFile = "key.txt"

// lastParts returns the key parts of the most recently used engine of the
// build module dir: nil when there is none, empty when it recorded none.
func lastParts(cache, dir string) []string {
	var last *cachedEngine
	for _, e := range cachedEngines(cache) {
		if e.source == dir && (last == nil || e.used.After(last.used)) {
			last = &e
		}
	}
	if last == nil {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(last.path, keyFile))
	if err != nil {
		return []string{}
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

// cachedEngine is an engine in the cache, with the build module it was
// built from and when it was last used.
type cachedEngine struct {
	key, path, source string
	used              time.Time
}

// cachedEngines lists the engines of the cache (not the builds under way).
func cachedEngines(cache string) []cachedEngine {
	entries, err := os.ReadDir(cache)
	if err != nil {
		return nil
	}
	var out []cachedEngine
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(cache, e.Name())
		src, err := os.ReadFile(filepath.Join(path, "source"))
		if err != nil {
			continue
		}
		fi, err := os.Stat(path)
		if err != nil {
			continue
		}
		out = append(out, cachedEngine{key: e.Name(), path: path, source: strings.TrimSpace(string(src)), used: fi.ModTime()})
	}
	return out
}

// keyChange says, for the line that announces a build, which inputs of
// the key differ from the last engine's (before: nil for no engine yet,
// empty for one that recorded none).
func keyChange(before, after []string) string {
	switch {
	case before == nil:
		return "the first for this build module"
	case len(before) == 0:
		return "the last one did not record its inputs"
	}
	digest := func(parts []string) map[string]string {
		m := map[string]string{}
		for _, p := range parts {
			name, sum, _ := strings.Cut(p, "\t")
			m[name] = sum
		}
		return m
	}
	old, cur := digest(before), digest(after)
	var changed, gone []string
	for _, p := range after {
		name, _, _ := strings.Cut(p, "\t")
		if old[name] != cur[name] {
			changed = append(changed, describePart(name))
		}
	}
	for _, p := range before {
		if name, _, _ := strings.Cut(p, "\t"); cur[name] == "" && old[name] != "" {
			gone = append(gone, describePart(name))
		}
	}
	var says []string
	if len(changed) > 0 {
		says = append(says, strings.Join(changed, ", ")+" changed")
	}
	if len(gone) > 0 {
		says = append(says, strings.Join(gone, ", ")+" gone")
	}
	if len(says) == 0 {
		return "the last one's inputs are unchanged: rebuilt"
	}
	return strings.Join(says, "; ")
}

// describePart names a key input for people.
func describePart(name string) string {
	switch {
	case name == "engine":
		return "Gantry's engine magefile"
	case name == "toolchain":
		return "the Go toolchain"
	case name == "env":
		return "the GO*/CGO_* environment"
	case name == "goenv":
		return "the go env -w settings"
	case strings.HasPrefix(name, "replace "):
		_, to, _ := strings.Cut(name, " => ")
		return "the files under " + to
	}
	return name
}

func exeSuffix() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}

// build compiles the engine with mage in a module of its own under the
// cache: the build module's go.mod (local replace directives made
// absolute) and go.sum, and engineMagefile. The result is moved into place
// whole, so a concurrent or interrupted build never leaves a partial engine.
func build(ctx context.Context, dir, cache, key string, parts []string) error {
	start := time.Now()
	fmt.Fprintf(os.Stderr, "gantry: building the engine for this kit, build module and toolchain (once per change of them: %s) …\n", keyChange(lastParts(cache, dir), parts))
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return fmt.Errorf("creating the engine cache: %w", err)
	}
	tmp, err := os.MkdirTemp(cache, ".build-")
	if err != nil {
		return fmt.Errorf("creating the engine cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	gomod, err := absoluteReplaces(dir)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "go.mod"), gomod, 0o644); err != nil {
		return err
	}
	if sum, err := os.ReadFile(filepath.Join(dir, "go.sum")); err == nil {
		if err := os.WriteFile(filepath.Join(tmp, "go.sum"), sum, 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, "engine.go"), []byte(engineMagefile), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "source"), []byte(dir+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, keyFile), []byte(strings.Join(parts, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	// -s -w: no symbol table or DWARF, a quicker link and a third less to
	// store; the engine is run, never debugged in place.
	cmd := exec.CommandContext(ctx, "go", "run", "github.com/magefile/mage", "-ldflags", "-s -w", "-compile", filepath.Join(tmp, "engine"+exeSuffix()))
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building Gantry's engine from %s/go.mod (go run github.com/magefile/mage -compile): %w\n%s\nif a module is missing, run `go mod tidy` in %s", dir, err, strings.TrimSpace(string(out)), dir)
	}
	for _, f := range []string{"engine.go", "go.mod", "go.sum"} {
		os.Remove(filepath.Join(tmp, f))
	}
	final := filepath.Join(cache, key)
	if err := os.Rename(tmp, final); err != nil {
		if _, statErr := os.Stat(filepath.Join(final, "engine"+exeSuffix())); statErr != nil {
			return fmt.Errorf("storing Gantry's engine: %w", err)
		}
	}
	removeOlder(cache, key, dir)
	fmt.Fprintf(os.Stderr, "gantry: engine ready in %.1fs\n", time.Since(start).Seconds())
	return nil
}

// enginesPerModule is how many engines of one build module the cache
// keeps: the one just built and the most recently used other, so that
// switching between two settings that key the engine (GOFLAGS on and off,
// two kit commits) does not rebuild it every time.
const enginesPerModule = 2

// removeOlder removes, besides the engine key just built, all but the most
// recently used enginesPerModule-1 other engines of the same build module,
// and the engines of build modules that no longer exist (a deleted clone
// or temporary directory).
func removeOlder(cache, key, dir string) {
	var same []cachedEngine
	for _, e := range cachedEngines(cache) {
		if e.key == key {
			continue
		}
		if _, err := os.Stat(filepath.Join(e.source, "go.mod")); errors.Is(err, fs.ErrNotExist) {
			os.RemoveAll(e.path)
			continue
		}
		if e.source == dir {
			same = append(same, e)
		}
	}
	sort.Slice(same, func(i, j int) bool { return same[i].used.After(same[j].used) })
	for i, e := range same {
		if i >= enginesPerModule-1 {
			os.RemoveAll(e.path)
		}
	}
}

// absoluteReplaces is dir's go.mod with every local replace directive
// pointing at an absolute path, so that it resolves the same from the
// engine's build directory.
func absoluteReplaces(dir string) ([]byte, error) {
	path := filepath.Join(dir, "go.mod")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	mf, err := modfile.Parse(path, data, nil)
	if err != nil {
		return nil, err
	}
	for _, r := range mf.Replace {
		if !modfile.IsDirectoryPath(r.New.Path) || filepath.IsAbs(r.New.Path) {
			continue
		}
		abs := filepath.Join(dir, filepath.FromSlash(r.New.Path))
		if err := mf.AddReplace(r.Old.Path, r.Old.Version, abs, ""); err != nil {
			return nil, err
		}
	}
	mf.Cleanup()
	return mf.Format()
}

// Key identifies the engine the build module at dir compiles to. It covers
// everything that decides the engine's bytes: the build module's go.mod and
// go.sum (which pin the kit and every dependency in the module cache, whose
// contents never change), the files of every local replace directory (a
// clone of the kit during development), the toolchain that built this
// magefile (the engine is built by the same go command), the Go settings of
// the environment and of `go env -w`, and the engine's own magefile.
func Key(dir string) (string, error) {
	key, _, err := keyParts(dir)
	return key, err
}

// keyParts is Key, and one line per input it covers ("name\tdigest"),
// which the engine keeps (keyFile) so that the next build can say what
// changed. The key is the digest of the parts: each input is hashed once.
func keyParts(dir string) (key string, parts []string, err error) {
	field := func(name string, data []byte) {
		sum := sha256.Sum256(data)
		parts = append(parts, strings.NewReplacer("\t", " ", "\n", " ").Replace(name)+"\t"+hex.EncodeToString(sum[:]))
	}
	field("engine", []byte(engineMagefile))
	field("toolchain", []byte(runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH))
	field("env", []byte(strings.Join(config.ToolchainEnv(), "\n")))
	if f := config.GoEnvFile(); f != "" {
		if data, err := os.ReadFile(f); err == nil {
			field("goenv", data)
		}
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", nil, err
	}
	field("go.mod", gomod)
	sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", nil, err
	}
	field("go.sum", sum)
	mf, err := modfile.Parse(filepath.Join(dir, "go.mod"), gomod, nil)
	if err != nil {
		return "", nil, fmt.Errorf("reading %s/go.mod: %w", dir, err)
	}
	for _, r := range mf.Replace {
		if !modfile.IsDirectoryPath(r.New.Path) {
			continue
		}
		local := r.New.Path
		if !filepath.IsAbs(local) {
			local = filepath.Join(dir, filepath.FromSlash(local))
		}
		sig, err := treeSignature(local)
		if err != nil {
			return "", nil, fmt.Errorf("reading the replace directory %s of %s/go.mod: %w", r.New.Path, dir, err)
		}
		field("replace "+r.Old.Path+" => "+r.New.Path, sig)
	}
	digest := sha256.Sum256([]byte(strings.Join(parts, "\n")))
	return hex.EncodeToString(digest[:])[:32], parts, nil
}

// treeSignature lists every file of a module directory that the go command
// can read when it builds the module's packages: path, size, mode and
// modification time (content changes move the time; an edit that restores
// both is not worth a hash of every file on every command). A file counts
// when its directory or one above it (up to the module root) holds Go
// files: a package reads its own files and, through //go:embed, files
// below its directory, never above it. Left out is what a build of the
// module never reads: files outside any package's tree (docs at a root
// without Go files), directories starting with . or _, testdata, vendor
// (ignored in a dependency), nested modules, and Gantry's own output
// directories.
func treeSignature(root string) ([]byte, error) {
	type entry struct{ dir, line string }
	var entries []entry
	goDirs := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != root && errors.Is(err, fs.ErrPermission) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if p == root {
				return nil
			}
			name := d.Name()
			if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor" {
				return filepath.SkipDir
			}
			for _, stop := range []string{"go.mod", config.OutMarker} {
				if _, err := os.Lstat(filepath.Join(p, stop)); err == nil {
					return filepath.SkipDir
				}
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // gone since the directory was read
		}
		dir := filepath.Dir(rel)
		if strings.HasSuffix(d.Name(), ".go") {
			goDirs[dir] = true
		}
		line := fmt.Sprintf("%s %d %o %d", filepath.ToSlash(rel), info.Size(), info.Mode(), info.ModTime().UnixNano())
		if info.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			line += " -> " + target
		}
		entries = append(entries, entry{dir, line})
		return nil
	})
	if err != nil {
		return nil, err
	}
	inPackage := func(dir string) bool {
		for {
			if goDirs[dir] {
				return true
			}
			if dir == "." {
				return false
			}
			dir = filepath.Dir(dir)
		}
	}
	var lines []string
	for _, e := range entries {
		if e.dir == "." && (strings.HasPrefix(e.line, "go.mod ") || strings.HasPrefix(e.line, "go.sum ")) || inPackage(e.dir) {
			lines = append(lines, e.line)
		}
	}
	sort.Strings(lines)
	return []byte(strings.Join(lines, "\n")), nil
}
