package statcache

import (
	"fmt"
	"io/fs"
	"time"
)

// sig is a file's stat signature.
type sig struct {
	Dev   uint64
	Ino   uint64
	Size  int64
	Mode  uint32
	Mtime int64 // Unix nanoseconds
	Ctime int64 // Unix nanoseconds
}

// Signature is fi's stat signature as text, and the time its file last
// changed (the later of mtime and ctime). ok is false where the platform
// gives no trustworthy signature (no ctime) or fi carries no stat data.
func Signature(fi fs.FileInfo) (text string, changed time.Time, ok bool) {
	s, ok := signature(fi)
	if !ok {
		return "", time.Time{}, false
	}
	text = fmt.Sprintf("%d %d %d %d %d %d", s.Dev, s.Ino, s.Size, s.Mode, s.Mtime, s.Ctime)
	return text, time.Unix(0, max(s.Mtime, s.Ctime)), true
}

// RacyWindow is how long ago a file must have changed, when it is looked
// at, for its signature to identify its content (see the package doc).
const RacyWindow = racyWindow
