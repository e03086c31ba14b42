package ocidir

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/internal/statcache"
)

// BlobPath returns where the blob with digest h lives (it may not exist).
func (d *Dir) BlobPath(h v1.Hash) string {
	return filepath.Join(d.path, blobsDir, h.Algorithm, h.Hex)
}

// HasBlob reports whether blob h exists with the given size (size < 0: any)
// and content that hashes to h. A blob whose content does not match is
// removed and reported missing.
//
// The blob is read in full unless it was verified before and has not
// changed since (see WithVerifyCache): a layout can be changed behind our
// back (ko and crane write blobs in place), and a blob that is reused
// unverified is how a corrupt layer ends up in a pushed image.
func (d *Dir) HasBlob(h v1.Hash, size int64) (bool, error) {
	ok, _, err := d.verify(h, size)
	return ok, err
}

// verify is HasBlob that also returns the blob's size.
func (d *Dir) verify(h v1.Hash, size int64) (bool, int64, error) {
	if err := checkHash(h); err != nil {
		return false, 0, err
	}
	p := d.BlobPath(h)
	if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
		if v, ok := d.verified.Get(p, statcache.SHA256, fi); ok && v == h.Hex {
			return size < 0 || fi.Size() == size, fi.Size(), nil
		}
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("checking blob %s: %w", h, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, 0, fmt.Errorf("checking blob %s: %w", h, err)
	}
	if !fi.Mode().IsRegular() {
		return false, 0, fmt.Errorf("blob %s: %q is not a regular file; remove it", h, p)
	}
	readAt := time.Now()
	got, n, err := sha256Of(f)
	if err != nil {
		return false, 0, fmt.Errorf("checking blob %s: %w", h, err)
	}
	if got != h {
		// Corrupt. Remove it, unless someone has renamed a new copy into
		// place since we opened it.
		if cur, err := os.Lstat(p); err == nil && os.SameFile(cur, fi) {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return false, 0, fmt.Errorf("removing corrupt blob %q (content hashes to %s): %w", p, got, err)
			}
		}
		return false, 0, nil
	}
	if after, err := f.Stat(); err == nil {
		d.verified.Put(p, statcache.SHA256, fi, after, readAt, h.Hex)
		_ = d.verified.Save() // not saving only costs hashing it again
	}
	if size >= 0 && n != size {
		// The content is right, so the size asked for is wrong: keep it.
		return false, n, nil
	}
	return true, n, nil
}

// checkHash rejects digests Gantry cannot verify or that would not name a
// file under blobs/sha256.
func checkHash(h v1.Hash) error {
	if h.Algorithm != "sha256" {
		return fmt.Errorf("digest %q: unsupported algorithm %q (only sha256)", h, h.Algorithm)
	}
	if len(h.Hex) != 2*sha256.Size {
		return fmt.Errorf("digest %q: want %d hex digits, got %d", h, 2*sha256.Size, len(h.Hex))
	}
	for _, c := range h.Hex {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return fmt.Errorf("digest %q: %q is not a lowercase hex digit", h, c)
		}
	}
	return nil
}

// bufPool holds copy buffers, larger than io.Copy's 32 KiB.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

func copyBuffer(dst io.Writer, src io.Reader) (int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	return io.CopyBuffer(dst, src, *bp)
}

// sha256Of streams r through sha256.
func sha256Of(r io.Reader) (v1.Hash, int64, error) {
	h := sha256.New()
	n, err := copyBuffer(h, r)
	if err != nil {
		return v1.Hash{}, n, err
	}
	return sha256Hash(h), n, nil
}

func sha256Hash(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

// Staged is a blob being written: write to it, then Commit or Abort.
// It is not safe for concurrent use.
type Staged interface {
	io.Writer
	// Commit checks that what was written hashes to want (when want is not
	// the zero Hash), renames it to its blob path and returns its digest and
	// size. A mismatch is an error and nothing is left behind.
	Commit(want v1.Hash) (v1.Hash, int64, error)
	// Abort removes the temp file; safe after Commit.
	Abort()
}

// Stage starts writing a new blob to a temp file inside the layout.
func (d *Dir) Stage() (Staged, error) {
	f, err := d.createTemp()
	if err != nil {
		return nil, err
	}
	return &stagedBlob{d: d, f: f, h: sha256.New()}, nil
}

var _ Staged = (*stagedBlob)(nil)

// stagedBlob hashes what it writes to its temp file.
type stagedBlob struct {
	d    *Dir
	f    *os.File
	h    hash.Hash
	n    int64
	done bool
}

var errStagedDone = errors.New("staged blob already committed or aborted")

func (s *stagedBlob) Write(p []byte) (int, error) {
	if s.done {
		return 0, errStagedDone
	}
	n, err := s.f.Write(p)
	s.h.Write(p[:n])
	s.n += int64(n)
	return n, err
}

func (s *stagedBlob) Commit(want v1.Hash) (v1.Hash, int64, error) {
	if s.done {
		return v1.Hash{}, 0, errStagedDone
	}
	s.done = true
	tmp := s.f.Name()
	renamed := false
	defer func() {
		if !renamed {
			s.f.Close()
			os.Remove(tmp)
		}
	}()

	got := sha256Hash(s.h)
	if want != (v1.Hash{}) && got != want {
		return v1.Hash{}, 0, fmt.Errorf("blob digest mismatch: want %s, got %s (%d bytes)", want, got, s.n)
	}
	if ok, _, err := s.d.verify(got, s.n); err != nil {
		return v1.Hash{}, 0, err
	} else if ok {
		return got, s.n, nil // an identical blob is already there
	}

	if err := finishFile(s.f, func() error { return nil }); err != nil {
		return v1.Hash{}, 0, fmt.Errorf("writing blob %s: %w", got, err)
	}
	dst := s.d.BlobPath(got)
	err := os.Rename(tmp, dst)
	if errors.Is(err, fs.ErrNotExist) {
		// blobs/sha256 was removed after Open.
		if err = mkdir(filepath.Join(s.d.path, blobsDir)); err == nil {
			if err = mkdir(filepath.Dir(dst)); err == nil {
				err = os.Rename(tmp, dst)
			}
		}
	}
	if err != nil {
		return v1.Hash{}, 0, fmt.Errorf("writing blob %s: %w", got, err)
	}
	renamed = true
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return v1.Hash{}, 0, fmt.Errorf("writing blob %s: %w", got, err)
	}
	return got, s.n, nil
}

func (s *stagedBlob) Abort() {
	if s.done {
		return
	}
	s.done = true
	s.f.Close()
	os.Remove(s.f.Name())
}

// WriteBlob writes the blob read from r, verifying it against want (zero:
// no check), skipping the write when a verified blob already exists.
// When it skips, r is not read.
func (d *Dir) WriteBlob(r io.Reader, want v1.Hash) (v1.Hash, int64, error) {
	if want != (v1.Hash{}) {
		ok, n, err := d.verify(want, -1)
		if err != nil {
			return v1.Hash{}, 0, err
		}
		if ok {
			return want, n, nil
		}
	}
	s, err := d.Stage()
	if err != nil {
		return v1.Hash{}, 0, err
	}
	defer s.Abort()
	if _, err := copyBuffer(s, r); err != nil {
		return v1.Hash{}, 0, fmt.Errorf("writing blob: %w", err)
	}
	return s.Commit(want)
}
