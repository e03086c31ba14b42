package vendorcheck

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/sync/errgroup"

	"github.com/gantrybuild/gantry/targets/internal/atomicfile"
	"github.com/gantrybuild/gantry/targets/internal/goenv"
	"github.com/gantrybuild/gantry/targets/internal/statcache"
)

// The module check does what `go mod verify` does, module by module: for
// each module of the build list, the zip and the extracted directory in the
// module cache must hash (dirhash, h1:) to the ziphash recorded at download,
// which must also be go.sum's hash for that module.
//
// It remembers, per module, the stat signature of every file it hashed
// (zip, ziphash, each file of the directory: see statcache for why a
// signature identifies content), and hashes again only a module whose
// signature moved: an edit in the module cache, even one that restores the
// size and mtime, changes a ctime, so it is always hashed again. The build
// list is remembered under the toolchain, go.mod, go.sum and GOMODCACHE
// (the go.mod files it is read from are checked against go.sum by every go
// command that reads them).

// modFormat versions the module record: bump it when what it holds, or how
// a signature is computed, changes.
const modFormat = 2

// modRecord is what the module check remembers between runs.
type modRecord struct {
	Key      string            `json:"key"`      // hash of what the build list depends on
	Modules  []string          `json:"modules"`  // the build list under Key: "path@version" of each module in the cache
	Verified map[string]string `json:"verified"` // "path@version" → signature of its files when they last hashed right
}

// modResult is what the module check found.
type modResult struct {
	modules   int // modules in the module cache (others are not downloaded: nothing to verify)
	hashed    int // modules hashed this time
	unchanged int // modules whose files are unchanged since they hashed right
}

func (r modResult) String() string {
	if r.unchanged == 0 {
		return fmt.Sprintf("%d in the module cache: %d hashed", r.modules, r.hashed)
	}
	return fmt.Sprintf("%d in the module cache: %d hashed, %d unchanged since they were hashed", r.modules, r.hashed, r.unchanged)
}

// modSumRacyWindow is statcache.RacyWindow; tests shorten it.
var modSumRacyWindow = statcache.RacyWindow

// verifyModules checks the module cache behind req's build list, keeping
// its record in file ("" keeps none: every module is hashed).
func verifyModules(ctx context.Context, req Request, vars goenv.Vars, file string) (modResult, error) {
	key, err := buildListKey(req.Dir, vars)
	if err != nil {
		return modResult{}, err
	}
	rec := modRecord{Verified: map[string]string{}}
	if file != "" {
		if b, err := os.ReadFile(file); err == nil && json.Unmarshal(b, &rec) != nil {
			rec = modRecord{} // a corrupt record is an empty one
		}
		if rec.Verified == nil {
			rec.Verified = map[string]string{}
		}
	}
	mods := rec.Modules
	if rec.Key != key {
		if mods, err = buildList(ctx, req); err != nil {
			return modResult{}, err
		}
	}

	type outcome struct {
		sig    string // signature to remember ("" remembers nothing)
		hashed bool
		absent bool
		errs   []error
	}
	outcomes := make([]outcome, len(mods))
	gosum := readGoSum(filepath.Join(req.Dir, "go.sum"))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, m := range mods {
		g.Go(func() error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			loc, err := locate(vars.GOMODCACHE, m)
			if err != nil {
				outcomes[i].errs = []error{err}
				return nil
			}
			before, racy, absent := loc.signature()
			if absent {
				outcomes[i].absent = true
				return nil
			}
			if before != "" && rec.Verified[m] == before {
				outcomes[i].sig = before
				return nil
			}
			outcomes[i].hashed = true
			if errs := loc.verify(gosum); len(errs) > 0 {
				outcomes[i].errs = errs
				return nil
			}
			if after, racyAfter, _ := loc.signature(); after == before && !racy && !racyAfter {
				outcomes[i].sig = before
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return modResult{}, err
	}

	var res modResult
	var errs []error
	verified := map[string]string{}
	for i, o := range outcomes {
		errs = append(errs, o.errs...)
		if o.absent {
			continue
		}
		res.modules++
		if o.hashed {
			res.hashed++
		} else {
			res.unchanged++
		}
		if o.sig != "" {
			verified[mods[i]] = o.sig
		}
	}
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return res, errors.New(strings.Join(msgs, "; "))
	}
	if file != "" {
		// Record the build list only when go.mod and go.sum did not change
		// while it was read.
		if now, err := buildListKey(req.Dir, vars); err == nil && now == key {
			b, err := json.Marshal(modRecord{Key: key, Modules: mods, Verified: verified})
			if err == nil && (rec.Key != key || !maps.Equal(rec.Verified, verified)) {
				_ = atomicfile.Write(file, b) // failing to record only costs a rehash
			}
		}
	}
	return res, nil
}

// buildListKey hashes what the build list depends on.
func buildListKey(dir string, vars goenv.Vars) (string, error) {
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", err
	}
	gosum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "gantry module check v%d\ntoolchain %s\nmodule cache %s\n", modFormat, vars.Toolchain(), vars.GOMODCACHE)
	fmt.Fprintf(h, "go.mod %x\ngo.sum %x\n", sha256.Sum256(gomod), sha256.Sum256(gosum))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// buildList lists the modules `go mod verify` checks: the build list but
// the main module, as "path@version", each replaced by its replacement in
// go.mod when that is a module version (modules replaced by a directory
// are not in the module cache and are left out). It reads `go mod graph`,
// which needs no more of the network than go mod verify (go list -m would
// look up every module's .info).
func buildList(ctx context.Context, req Request) ([]string, error) {
	out, err := run(ctx, req, "mod", "graph")
	if err != nil {
		return nil, fmt.Errorf("reading the module graph with %s mod graph: %s", req.GoBin, firstLines(out, err))
	}
	gomod, err := os.ReadFile(filepath.Join(req.Dir, "go.mod"))
	if err != nil {
		return nil, err
	}
	f, err := modfile.Parse("go.mod", gomod, nil)
	if err != nil {
		return nil, err
	}
	return selectBuildList(out, f.Replace), nil
}

// selectBuildList reads `go mod graph` output: the build list is the
// highest version of each module path in the graph (minimal version
// selection), then go.mod's replacements apply.
func selectBuildList(graph []byte, replace []*modfile.Replace) []string {
	selected := map[string]string{}
	for line := range strings.Lines(string(graph)) {
		for _, node := range strings.Fields(line) {
			path, version, ok := strings.Cut(node, "@")
			if !ok || path == "go" || path == "toolchain" {
				continue // the main module, or the go version
			}
			if v, seen := selected[path]; !seen || semver.Compare(version, v) > 0 {
				selected[path] = version
			}
		}
	}
	var mods []string
	for path, version := range selected {
		m := path + "@" + version
		for _, r := range replace {
			if r.Old.Path == path && (r.Old.Version == "" || r.Old.Version == version) {
				m = ""
				if r.New.Version != "" {
					m = r.New.Path + "@" + r.New.Version
				}
				if r.Old.Version != "" {
					break // a versioned replacement wins over an unversioned one
				}
			}
		}
		if m != "" {
			mods = append(mods, m)
		}
	}
	slices.Sort(mods)
	return slices.Compact(mods)
}

// readGoSum maps "path@version" to go.sum's h1: hash of the module's files.
func readGoSum(file string) map[string]string {
	data, _ := os.ReadFile(file)
	sums := map[string]string{}
	for line := range strings.Lines(string(data)) {
		if f := strings.Fields(line); len(f) == 3 && !strings.HasSuffix(f[1], "/go.mod") {
			sums[f[0]+"@"+f[1]] = f[2]
		}
	}
	return sums
}

// location is where a module is in the module cache.
type location struct {
	mod          module.Version
	dir, zipFile string
}

func locate(modcache, pathAtVersion string) (location, error) {
	path, version, _ := strings.Cut(pathAtVersion, "@")
	m := module.Version{Path: path, Version: version}
	ep, err := module.EscapePath(path)
	if err != nil {
		return location{}, fmt.Errorf("%s: %w", pathAtVersion, err)
	}
	ev, err := module.EscapeVersion(version)
	if err != nil {
		return location{}, fmt.Errorf("%s: %w", pathAtVersion, err)
	}
	return location{
		mod:     m,
		dir:     filepath.Join(modcache, ep+"@"+ev),
		zipFile: filepath.Join(modcache, "cache", "download", ep, "@v", ev+".zip"),
	}, nil
}

// signature hashes the stat signatures of the module's zip, ziphash and
// every file of its directory ("" when a file gives none: the module is
// then hashed every time). racy reports a file changed too recently for
// its signature to identify its content; absent, that nothing of the
// module is in the cache.
func (l location) signature() (sig string, racy, absent bool) {
	since := time.Now().Add(-modSumRacyWindow)
	b := make([]byte, 0, 4096)
	ok := true
	add := func(name string, fi fs.FileInfo) {
		b = append(append(b, name...), 0)
		var changed time.Time
		var good bool
		if b, changed, good = statcache.AppendSignature(b, fi); !good {
			ok = false
		} else if changed.After(since) {
			racy = true
		}
	}
	absent = true
	for _, f := range []string{l.zipFile, l.zipFile + "hash"} {
		if fi, err := os.Lstat(f); err == nil {
			absent = false
			add(filepath.Base(f), fi)
		} else {
			b = append(b, "missing\x00"...)
		}
	}
	err := filepath.WalkDir(l.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		absent = false
		if d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		add(p[len(l.dir):], fi)
		return nil
	})
	if err != nil && !(errors.Is(err, fs.ErrNotExist) && absent) {
		ok = false // unreadable: hash it, which reports what is wrong
	}
	if !ok {
		return "", racy, absent
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), racy, absent
}

// verify is go mod verify's check of one module (cmd/go's verifyMod), plus
// the comparison of its ziphash with go.sum that builds make.
func (l location) verify(gosum map[string]string) []error {
	name := l.mod.Path + " " + l.mod.Version
	data, err := os.ReadFile(l.zipFile + "hash")
	if err != nil {
		return []error{fmt.Errorf("%s: missing ziphash: %v", name, err)}
	}
	h := string(bytes.TrimSpace(data))
	var errs []error
	if want, ok := gosum[l.mod.Path+"@"+l.mod.Version]; ok && want != h {
		errs = append(errs, fmt.Errorf("%s: ziphash %s does not match go.sum's %s (%s)", name, h, want, l.zipFile+"hash"))
	}
	if _, err := os.Stat(l.zipFile); err == nil {
		hz, err := dirhash.HashZip(l.zipFile, dirhash.DefaultHash)
		if err != nil {
			return append(errs, fmt.Errorf("%s: %v", name, err))
		}
		if hz != h {
			errs = append(errs, fmt.Errorf("%s: zip has been modified (%s)", name, l.zipFile))
		}
	}
	if _, err := os.Stat(l.dir); err == nil {
		hd, err := dirhash.HashDir(l.dir, l.mod.Path+"@"+l.mod.Version, dirhash.DefaultHash)
		if err != nil {
			return append(errs, fmt.Errorf("%s: %v", name, err))
		}
		if hd != h {
			errs = append(errs, fmt.Errorf("%s: dir has been modified (%s)", name, l.dir))
		}
	}
	return errs
}
