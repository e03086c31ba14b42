package gitinfo

import (
	"io/fs"
	"syscall"
	"time"
)

// ctimeInode returns fi's ctime and inode, as git records them in the index.
func ctimeInode(fi fs.FileInfo) (time.Time, uint64, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return time.Time{}, 0, false
	}
	return time.Unix(st.Ctimespec.Unix()), st.Ino, true
}
