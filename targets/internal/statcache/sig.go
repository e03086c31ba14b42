package statcache

import (
	"encoding/binary"
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

// AppendSignature appends fi's stat signature to b in a compact binary
// form (for hashing many files cheaply), and returns the time its file last
// changed; ok is false as for Signature.
func AppendSignature(b []byte, fi fs.FileInfo) (_ []byte, changed time.Time, ok bool) {
	s, ok := signature(fi)
	if !ok {
		return b, time.Time{}, false
	}
	for _, v := range [...]uint64{s.Dev, s.Ino, uint64(s.Size), uint64(s.Mode), uint64(s.Mtime), uint64(s.Ctime)} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b, time.Unix(0, max(s.Mtime, s.Ctime)), true
}
