//go:build linux || darwin

package statcache

import (
	"io/fs"
	"syscall"
)

// signature returns fi's signature; ok is false when fi carries no
// syscall.Stat_t.
func signature(fi fs.FileInfo) (sig, bool) {
	if fi == nil {
		return sig{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return sig{}, false
	}
	mtime, ctime := times(st)
	return sig{
		Dev:   uint64(st.Dev),
		Ino:   uint64(st.Ino),
		Size:  st.Size,
		Mode:  uint32(fi.Mode()),
		Mtime: mtime,
		Ctime: ctime,
	}, true
}
