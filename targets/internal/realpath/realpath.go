// Package realpath resolves symbolic links in paths that may not exist yet.
package realpath

import "path/filepath"

// Of resolves the symbolic links of p's longest existing prefix and keeps
// the rest, so that a path through a link compares equal to the path it
// reaches, whether or not it exists yet.
func Of(p string) string {
	p = filepath.Clean(p)
	var rest []string
	for {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(append([]string{r}, rest...)...)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(append([]string{p}, rest...)...)
		}
		rest = append([]string{filepath.Base(p)}, rest...)
		p = parent
	}
}
