//go:build !linux && !darwin

package gitinfo

import (
	"io/fs"
	"time"
)

// ctimeInode: not known here; size and mtime decide.
func ctimeInode(fs.FileInfo) (time.Time, uint64, bool) { return time.Time{}, 0, false }
