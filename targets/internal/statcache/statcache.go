// Package statcache remembers facts about files (a SHA-256, the imports of a
// Go file) by their stat signature, as git's index does, so that a file that
// has not changed since it was last read is not read again.
//
// The signature is the device, inode, size, mode, mtime and ctime. Any
// rewrite of a file changes its ctime, which no program can set back (only
// the system clock can), so a file whose signature is unchanged has not been
// written since it was read. Two precautions keep that sound:
//
//   - A value is recorded only when the signature before and after reading
//     the file is the same, so a write during the read is never recorded.
//   - A file changed less than racyWindow before it was read is not trusted:
//     timestamps are coarse (a clock tick, or a second on some filesystems),
//     so a second write in the same tick would leave the signature as it was.
//     Such a file is read again next time, by which time it is old enough.
//
// Where the platform gives no ctime (not Linux or macOS), nothing is trusted
// and every file is read.
package statcache

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// racyWindow is how long ago a file must have changed, when it is read,
// for its recorded value to be trusted later.
const racyWindow = 2 * time.Second

// Kind names what a value is; the SHA256 kind is built in.
const SHA256 = "sha256"

// Cache is a set of recorded values, safe for concurrent use.
type Cache struct {
	file string        // "" keeps the cache in memory
	racy time.Duration // racyWindow, or 0 in tests

	mu      sync.Mutex
	entries map[string]*entry // by path
	dirty   bool
}

type entry struct {
	sig    sig
	values map[string]string // kind → value
}

// The cache file is text, one file a line, quick to read for thousands of
// entries: "<format>\n" then per file
// "<dev> <ino> <size> <mode> <mtime> <ctime> <kind>=<value>[,<kind>=<value>…] <path>".
const header = "gantry statcache 1\n"

// Load reads the cache saved in file; a missing, unreadable or corrupt file
// gives an empty cache. With file "", the cache lives in memory only.
func Load(file string) *Cache {
	c := &Cache{file: file, racy: racyWindow, entries: map[string]*entry{}}
	if file == "" {
		return c
	}
	b, err := os.ReadFile(file)
	if err != nil || !strings.HasPrefix(string(b), header) {
		return c
	}
	for line := range strings.Lines(string(b[len(header):])) {
		p, e, ok := parseLine(strings.TrimSuffix(line, "\n"))
		if !ok {
			return &Cache{file: file, racy: racyWindow, entries: map[string]*entry{}}
		}
		c.entries[p] = e
	}
	return c
}

func parseLine(line string) (string, *entry, bool) {
	f := strings.SplitN(line, " ", 8)
	if len(f) != 8 {
		return "", nil, false
	}
	var n [6]int64
	for i := range n {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return "", nil, false
		}
		n[i] = v
	}
	e := &entry{
		sig:    sig{Dev: uint64(n[0]), Ino: uint64(n[1]), Size: n[2], Mode: uint32(n[3]), Mtime: n[4], Ctime: n[5]},
		values: map[string]string{},
	}
	for kv := range strings.SplitSeq(f[6], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return "", nil, false
		}
		e.values[k] = v
	}
	return f[7], e, true
}

func formatLine(b *strings.Builder, p string, e *entry) {
	s := e.sig
	fmt.Fprintf(b, "%d %d %d %d %d %d ", int64(s.Dev), int64(s.Ino), s.Size, s.Mode, s.Mtime, s.Ctime)
	for i, k := range slices.Sorted(maps.Keys(e.values)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + e.values[k])
	}
	b.WriteString(" " + p + "\n")
}

// TrustRecentChanges makes c trust a file however shortly before its read
// it changed, so that tests need not wait for their files to age.
func (c *Cache) TrustRecentChanges() { c.racy = 0 }

// Get returns the value of kind recorded for path when fi, the file's
// current Lstat or Stat, still has the signature it had when the value was
// recorded.
func (c *Cache) Get(path, kind string, fi fs.FileInfo) (string, bool) {
	s, ok := signature(fi)
	if !ok {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[path]
	if e == nil || e.sig != s {
		return "", false
	}
	v, ok := e.values[kind]
	return v, ok
}

// Put records value of kind for path, computed from the file's content read
// between before and after (its signatures then) and started at readAt.
// It records nothing when the file changed during the read or too shortly
// before it (see the package doc).
func (c *Cache) Put(path, kind string, before, after fs.FileInfo, readAt time.Time, value string) {
	s, ok := signature(before)
	if !ok {
		return
	}
	if s2, ok := signature(after); !ok || s2 != s {
		return
	}
	if changed := time.Unix(0, max(s.Mtime, s.Ctime)); !changed.Before(readAt.Add(-c.racy)) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if strings.ContainsAny(path, "\n") || strings.ContainsAny(kind, " ,=\n") || strings.ContainsAny(value, " ,\n") {
		return // not representable in the cache file; read again next time
	}
	e := c.entries[path]
	if e == nil || e.sig != s {
		e = &entry{sig: s, values: map[string]string{}}
		c.entries[path] = e
	}
	if e.values[kind] != value {
		e.values[kind] = value
		c.dirty = true
	}
}

// ValueByID is Value for a file whose content names itself: id reads from
// the open file, in a few bytes, an identifier that changes whenever the
// content does (a Go binary's build ID ends in a hash of the binary; go
// build trusts it to skip relinking). When the stat signature misses only
// because the file's times moved (same device, inode, size and mode, as
// when go build touches an up-to-date binary) and id matches the one
// recorded with the value, the value holds without reading the file. A
// nil id, or an empty one (not such a file), means reading it.
func (c *Cache) ValueByID(path, kind string, id func(io.ReaderAt) string, compute func(io.Reader) (string, error)) (string, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() {
		if v, ok := c.Get(path, kind, fi); ok {
			return v, nil
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !before.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	if v, ok := c.Get(path, kind, before); ok {
		return v, nil
	}
	idKind := kind + "-id"
	readAt := time.Now()
	named := ""
	if id != nil {
		named = id(f)
	}
	v, ok := "", false
	if named != "" {
		v, ok = c.touched(path, kind, idKind, before, named)
	}
	if !ok {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return "", err
		}
		if v, err = compute(f); err != nil {
			return "", err
		}
	}
	if after, err := f.Stat(); err == nil {
		c.Put(path, kind, before, after, readAt, v)
		if named != "" {
			c.Put(path, idKind, before, after, readAt, named)
		}
	}
	return v, nil
}

// touched returns the value of kind recorded for path when the entry is
// the file fi but for its times and its recorded idKind is id.
func (c *Cache) touched(path, kind, idKind string, fi fs.FileInfo, id string) (string, bool) {
	s, ok := signature(fi)
	if !ok {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[path]
	if e == nil || e.sig.Dev != s.Dev || e.sig.Ino != s.Ino || e.sig.Size != s.Size || e.sig.Mode != s.Mode || e.values[idKind] != id {
		return "", false
	}
	v, ok := e.values[kind]
	return v, ok
}

// Value returns the value of kind for the regular file at path: the
// recorded one when the file is unchanged, else compute's, reading the
// file, which is then recorded.
func (c *Cache) Value(path, kind string, compute func(io.Reader) (string, error)) (string, error) {
	return c.ValueByID(path, kind, nil, compute)
}

// Sum returns the hex SHA-256 of the regular file at path.
func (c *Cache) Sum(path string) (string, error) {
	return c.Value(path, SHA256, SumReader)
}

// SumReader returns the hex SHA-256 of what r holds.
func SumReader(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Save writes the cache to its file (atomically: a temp file renamed into
// place) when something was recorded since it was loaded, dropping the
// entries of files that no longer exist. Two processes saving at once
// leave one of their versions, which is as valid as the other.
func (c *Cache) Save() error {
	if c.file == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dirty {
		return nil
	}
	for p := range c.entries {
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			delete(c.entries, p)
		}
	}
	var sb strings.Builder
	sb.WriteString(header)
	for _, p := range slices.Sorted(maps.Keys(c.entries)) {
		formatLine(&sb, p, c.entries[p])
	}
	b := []byte(sb.String())
	dir := filepath.Dir(c.file)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("saving %s: %w", c.file, err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("saving %s: %w", c.file, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("saving %s: %w", c.file, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving %s: %w", c.file, err)
	}
	if err := os.Rename(tmp.Name(), c.file); err != nil {
		return fmt.Errorf("saving %s: %w", c.file, err)
	}
	c.dirty = false
	return nil
}
