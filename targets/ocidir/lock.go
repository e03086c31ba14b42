package ocidir

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// lockRetryDelay is how often Lock retries a lock held by another process.
const lockRetryDelay = 25 * time.Millisecond

// inProcess serialises holders in this process (one buffered channel per
// lock file) before they take the file lock. flock(2) would exclude them
// too, but its NFS emulation (fcntl locks) is per process.
var inProcess sync.Map // lock path → chan struct{}

// Lock takes an exclusive lock (a lock file next to the layout, so it does
// not appear inside it) and returns the function that releases it. It waits
// for other holders until ctx is done.
//
// Lock is not reentrant, and the other methods do not take it: callers do.
// The lock file is "<layout>.lock" (e.g. dist/oci.lock). It is left in place
// when the lock is released: removing it would let two processes hold locks
// on different files of the same name.
func (d *Dir) Lock(ctx context.Context) (unlock func(), err error) {
	v, _ := inProcess.LoadOrStore(d.lockPath, make(chan struct{}, 1))
	sem := v.(chan struct{})
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the lock on OCI image layout %q: %w", d.path, ctx.Err())
	}

	fl := flock.New(d.lockPath, flock.SetPermissions(fileMode))
	ok, err := fl.TryLockContext(ctx, lockRetryDelay)
	if err == nil && !ok {
		err = ctx.Err()
	}
	if err != nil {
		<-sem
		return nil, fmt.Errorf("waiting for the lock on OCI image layout %q (lock file %q, held by another process?): %w", d.path, d.lockPath, err)
	}

	// Let other users lock it too, whatever our umask was.
	if fi, err := os.Stat(d.lockPath); err == nil && fi.Mode().Perm() != fileMode {
		_ = os.Chmod(d.lockPath, fileMode)
	}

	var once sync.Once
	return func() {
		once.Do(func() {
			_ = fl.Unlock() // LOCK_UN and close; exiting releases it too
			<-sem
		})
	}, nil
}
