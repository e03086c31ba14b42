package sbom

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/google/licenseclassifier/v2/assets"
	"golang.org/x/mod/module"

	"github.com/gantrybuild/gantry/targets/internal/atomicfile"
)

// minConfidence is how sure the classifier must be of a license.
const minConfidence = 0.9

// licenseFiles are the names a module's license goes by, in its root.
var licenseFiles = []string{"LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "COPYING", "LICENSE-MIT", "LICENSE-APACHE"}

// licenseDetector finds the licenses of modules from their sources in
// vendor/ or the module cache, with Google's license classifier (loaded on
// first use: it is large).
type licenseDetector struct {
	main     string // the main module's directory, "" when unknown
	vendor   string // the module's vendor directory, "" when none
	modcache string // GOMODCACHE, "" when unknown

	once    sync.Once
	err     error
	find    func([]byte) []string
	matchMu sync.Mutex // one classification at a time (images are described in parallel)

	// The classifier takes most of a second to load and match, so its
	// answers are remembered by the SHA-256 of the license text, in
	// cacheFile when set (the answer for a text never changes).
	cacheFile string
	mu        sync.Mutex
	known     map[string][]string
	loaded    bool
	dirty     bool
}

// licenseCacheVersion changes when the classifier or its threshold does.
const licenseCacheVersion = "gantry licenses 1 licenseclassifier/v2 0.9"

// detect returns the SPDX expression of the licenses in the root of the
// module path@version ("" when no source or no license was found).
func (d *licenseDetector) detect(path, version string) string {
	if d == nil {
		return ""
	}
	return d.detectIn(d.dirs(path, version))
}

// detectMain returns the SPDX expression of the main module's licenses.
func (d *licenseDetector) detectMain() string {
	if d == nil || d.main == "" {
		return ""
	}
	return d.detectIn([]string{d.main})
}

// detectIn returns the licenses in the first of dirs that holds any.
func (d *licenseDetector) detectIn(dirs []string) string {
	for _, dir := range dirs {
		var found []string
		for _, name := range licenseFiles {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				continue
			}
			for _, l := range d.classify(b) {
				if !slices.Contains(found, l) {
					found = append(found, l)
				}
			}
		}
		if len(found) > 0 {
			slices.Sort(found)
			return strings.Join(found, " AND ")
		}
	}
	return ""
}

// dirs are where the sources of path@version may be: vendor/<path>, then
// the module cache.
func (d *licenseDetector) dirs(path, version string) []string {
	var out []string
	if d.vendor != "" {
		out = append(out, filepath.Join(d.vendor, filepath.FromSlash(path)))
	}
	if d.modcache != "" && version != "" && version != "(devel)" {
		ep, err1 := module.EscapePath(path)
		ev, err2 := module.EscapeVersion(version)
		if err1 == nil && err2 == nil {
			out = append(out, filepath.Join(d.modcache, filepath.FromSlash(ep)+"@"+ev))
		}
	}
	return out
}

// classify names the licenses text holds, from the cache or the
// classifier.
func (d *licenseDetector) classify(text []byte) []string {
	key := fmt.Sprintf("%x", sha256.Sum256(text))
	d.mu.Lock()
	d.load()
	names, ok := d.known[key]
	d.mu.Unlock()
	if ok {
		return names
	}
	names = d.match(text)
	if d.err == nil {
		d.mu.Lock()
		d.known[key] = names
		d.dirty = true
		d.mu.Unlock()
	}
	return names
}

// load reads the cache file once; a missing or unreadable one is empty.
func (d *licenseDetector) load() {
	if d.loaded {
		return
	}
	d.loaded = true
	d.known = map[string][]string{}
	if d.cacheFile == "" {
		return
	}
	var c struct {
		Version string              `json:"version"`
		Known   map[string][]string `json:"known"`
	}
	if b, err := os.ReadFile(d.cacheFile); err == nil && json.Unmarshal(b, &c) == nil && c.Version == licenseCacheVersion && c.Known != nil {
		d.known = c.Known
	}
}

// save writes the cache file when something was classified (atomically;
// best effort: a failure means classifying again next time).
func (d *licenseDetector) save() {
	if d == nil || d.cacheFile == "" {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.dirty {
		return
	}
	b, err := json.Marshal(map[string]any{"version": licenseCacheVersion, "known": d.known})
	if err == nil && atomicfile.Write(d.cacheFile, b) == nil {
		d.dirty = false
	}
}

// match names the licenses text holds with the classifier.
func (d *licenseDetector) match(text []byte) []string {
	d.once.Do(func() {
		c, err := assets.DefaultClassifier()
		if err != nil {
			d.err = err
			return
		}
		d.find = func(b []byte) []string {
			var out []string
			for _, m := range c.Match(b).Matches {
				if m.MatchType == "License" && m.Confidence >= minConfidence {
					out = append(out, m.Name)
				}
			}
			return out
		}
	})
	if d.err != nil {
		return nil
	}
	d.matchMu.Lock()
	defer d.matchMu.Unlock()
	return d.find(text)
}

// DownloadModules fills the module cache with the modules the module in dir
// builds with (`go mod download`), so that their licenses can be read on a
// runner that never compiled it: a split pipeline's merge job describes
// layouts that build jobs compiled elsewhere, and must find what a
// single-runner release finds.
func DownloadModules(ctx context.Context, goBin, dir string, env []string) error {
	cmd := exec.CommandContext(ctx, goBin, "mod", "download")
	cmd.Dir = dir
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("downloading the modules of %s for their licenses (go mod download): %w\n%s", dir, err, bytes.TrimSpace(out))
	}
	return nil
}
