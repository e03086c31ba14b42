package sbom

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/google/licenseclassifier/v2/assets"
	"golang.org/x/mod/module"
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

	once sync.Once
	err  error
	find func([]byte) []string
}

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

// classify names the licenses text holds with the classifier.
func (d *licenseDetector) classify(text []byte) []string {
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
	return d.find(text)
}
