package inject

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gantrybuild/gantry/targets/internal/atomicfile"
)

// scanCache remembers Scan's result for each package with the stat
// signatures of the files it parsed: across the images of one run, which
// share most of their packages, and across runs (file), so that after an
// edit only the packages whose files changed are parsed again. Parsing
// every package of every image was most of a release's own CPU time after
// an edit to a shared package (x/tools, 6 images).
type scanCache struct {
	file    string // "" keeps it in memory
	entries map[string]*scanEntry
	dirty   bool
}

type scanEntry struct {
	Files  []string // the files parsed, in order
	Sigs   []string // their stat signatures when read
	Shapes []string // their shapes (goShape), for the plan records
	Pkg    Package
	racy   bool // a file changed too shortly before the read: this run only
}

// scanCacheFile is where the scans of images whose plans are remembered in
// planFile are kept: beside them, under a name no image's plan has.
func scanCacheFile(planFile string) string {
	if planFile == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(planFile), "packages.scan")
}

func loadScanCache(file string) *scanCache {
	c := &scanCache{file: file, entries: map[string]*scanEntry{}}
	if file == "" {
		return c
	}
	raw, err := os.ReadFile(file)
	if err != nil || json.Unmarshal(raw, &c.entries) != nil {
		c.entries = map[string]*scanEntry{}
	}
	return c
}

// scanKey names a package in the cache: the main package is scanned as
// "main", so it is kept apart from the same package imported.
func scanKey(importPath string, main, own bool) string {
	k := importPath
	if main {
		k += " main"
	}
	if own {
		k += " own"
	}
	return k
}

// get returns the package scanned from exactly files, and their shapes,
// when none of them changed since.
func (c *scanCache) get(key string, files []string) (Package, []string, bool) {
	e := c.entries[key]
	if e == nil || !slices.Equal(e.Files, files) || len(e.Sigs) != len(files) || len(e.Shapes) != len(files) {
		return Package{}, nil, false
	}
	for i, f := range files {
		if sig, _, ok := signatureOf(f); !ok || sig != e.Sigs[i] {
			return Package{}, nil, false
		}
	}
	return e.Pkg, e.Shapes, true
}

// put records pkg as scanned from files, of those shapes, read from readAt on.
func (c *scanCache) put(key string, files, shapes []string, readAt time.Time, pkg Package) {
	e := &scanEntry{Files: files, Sigs: make([]string, len(files)), Shapes: shapes, Pkg: pkg}
	for i, f := range files {
		sig, changed, ok := signatureOf(f)
		if !ok || sig == "-" {
			return // gone or unreadable since: parse it again next time
		}
		e.Sigs[i] = sig
		e.racy = e.racy || !changed.Before(readAt.Add(-racyWindow))
	}
	c.entries[key] = e
	c.dirty = true
}

// save writes the entries that may be trusted in a later run.
func (c *scanCache) save() {
	if c.file == "" || !c.dirty {
		return
	}
	keep := map[string]*scanEntry{}
	for k, e := range c.entries {
		if e.racy || len(e.Files) == 0 {
			continue
		}
		if _, err := os.Stat(e.Files[0]); err != nil {
			continue // a package removed or moved: its scan can never answer again
		}
		keep[k] = e
	}
	raw, err := json.Marshal(keep)
	if err != nil {
		return
	}
	if os.MkdirAll(filepath.Dir(c.file), 0o755) == nil {
		_ = atomicfile.Write(c.file, raw)
	}
}
