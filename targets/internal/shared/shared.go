// Package shared holds the small helpers several engine packages need
// alike: sizes and paths as a person reads them, a log writer safe for
// parallel steps, and the distribution spec's tag grammar.
package shared

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// HumanSize writes n bytes in SI units: 950 B, 4.2 MB.
func HumanSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// RelPath shortens a path under the working directory to a relative one;
// any other path is returned as it is.
func RelPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if !filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	if r, err := filepath.Rel(wd, p); err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return r
	}
	return p
}

// LockedWriter serialises the writes (log lines) of steps that run at once.
type LockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewLockedWriter wraps w.
func NewLockedWriter(w io.Writer) *LockedWriter { return &LockedWriter{w: w} }

func (l *LockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// MaxTagLen is the distribution spec's limit on a tag's length.
const MaxTagLen = 128

var tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// ValidTag reports whether s may be a tag (distribution spec grammar).
func ValidTag(s string) bool { return tagRE.MatchString(s) }
