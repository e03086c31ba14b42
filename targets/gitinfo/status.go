package gitinfo

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// fileStatus is a path's status as `git status --porcelain` prints it: x
// compares the index with HEAD, y the work tree with the index.
type fileStatus struct{ x, y byte }

// errFallback means quickStatus met something it does not handle exactly
// like go-git's Status (submodules, unmerged or sparse entries, negated
// ignore patterns, special files…): changes then asks go-git. (Stage 0
// is a merged entry: go-git's index.Merged is 1, the same as AncestorMode.)
var errFallback = errors.New("work tree needs go-git's status")

// quickStatus computes what go-git's Status reports over the pruned view of
// the work tree that changes gives it, the way git itself does: the index
// is compared with HEAD's tree (through the index's cached tree when git
// wrote one), and each tracked file with its index entry by stat data (size,
// mtime, ctime, inode, mode), its content being hashed only when those
// differ or the entry is racy (the file changed no earlier than the index
// was written). Untracked files are found by a walk that, like prunedFS,
// does not enter an ignored untracked directory. It reads no file that has
// not changed, where go-git's Status took hundreds of milliseconds on a
// module of a few thousand files.
func quickStatus(repo *git.Repository, root string, exclude []gitignore.Pattern) (map[string]*fileStatus, error) {
	idx, err := repo.Storer.Index()
	if err != nil {
		return nil, err
	}
	entries := make(map[string]*index.Entry, len(idx.Entries))
	tracked := make(map[string]bool, len(idx.Entries)) // tracked files' parent directories
	for _, e := range idx.Entries {
		if e.Stage != 0 || e.SkipWorktree || e.IntentToAdd {
			return nil, fmt.Errorf("%w: %s is unmerged, sparse or intent-to-add", errFallback, e.Name)
		}
		switch e.Mode {
		case filemode.Regular, filemode.Executable, filemode.Symlink:
		default:
			return nil, fmt.Errorf("%w: %s has mode %s", errFallback, e.Name, e.Mode)
		}
		entries[e.Name] = e
		for p := path.Dir(e.Name); p != "." && !tracked[p]; p = path.Dir(p) {
			tracked[p] = true
		}
	}

	// Three independent parts, each mostly system calls: HEAD against the
	// index, the index against the tracked files, and the walk for
	// untracked files.
	var (
		staged    map[string]byte
		modified  map[string]byte
		untracked []string
		errs      [3]error
		wg        sync.WaitGroup
	)
	wg.Go(func() { staged, errs[0] = stagedChanges(repo, idx, entries) })
	wg.Go(func() { modified, errs[1] = compareEntries(root, idx, entries) })
	wg.Go(func() {
		w := &walker{root: root, entries: entries, tracked: tracked, listings: map[string][]os.DirEntry{}}
		patterns, err := w.readPatterns(nil)
		if err != nil {
			errs[2] = err
			return
		}
		w.ignored = gitignore.NewMatcher(append(append([]gitignore.Pattern{}, exclude...), patterns...))
		errs[2] = w.untracked(nil, &untracked)
	})
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}

	// Combined as go-git's Status combines them.
	st := map[string]*fileStatus{}
	get := func(p string) *fileStatus {
		s := st[p]
		if s == nil {
			s = &fileStatus{'?', '?'}
			st[p] = s
		}
		return s
	}
	for p, x := range staged {
		s := get(p)
		s.x, s.y = x, ' '
	}
	for p, y := range modified {
		s := get(p)
		if s.x == '?' {
			s.x = ' '
		}
		s.y = y
	}
	for _, p := range untracked {
		s := get(p)
		s.x, s.y = '?', '?'
	}
	return st, nil
}

// compareEntries compares every tracked file with its index entry (see
// compareEntry), half of them on another goroutine, and returns the ones
// that differ.
func compareEntries(root string, idx *index.Index, entries map[string]*index.Entry) (map[string]byte, error) {
	all := slices.Collect(maps.Values(entries))
	half := len(all) / 2
	var (
		out  [2]map[string]byte
		errs [2]error
		wg   sync.WaitGroup
	)
	for i, part := range [][]*index.Entry{all[:half], all[half:]} {
		wg.Go(func() {
			out[i] = map[string]byte{}
			for _, e := range part {
				y, err := compareEntry(root, e, idx.ModTime)
				if err != nil {
					errs[i] = err
					return
				}
				if y != ' ' {
					out[i][e.Name] = y
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	maps.Copy(out[0], out[1])
	return out[0], nil
}

// stagedChanges compares the index with HEAD's tree: 'A' added, 'D' deleted,
// 'M' modified (content or mode).
func stagedChanges(repo *git.Repository, idx *index.Index, entries map[string]*index.Entry) (map[string]byte, error) {
	head, err := repo.Head()
	if err != nil {
		return nil, err
	}
	commit, err := repo.CommitObject(head.Hash())
	if err != nil {
		return nil, err
	}
	// git keeps the tree each part of the index would write (cache-tree),
	// invalidating it on change; go-git writes no extensions, so an index
	// that has one was last written by a tool that maintains it. Without
	// one, the tree is computed from the index in memory, as `git
	// write-tree` would: far cheaper than reading HEAD's trees.
	if idx.Cache != nil && len(idx.Cache.Entries) > 0 {
		r := idx.Cache.Entries[0]
		if r.Path == "" && r.Entries == len(idx.Entries) && r.Hash == commit.TreeHash {
			return nil, nil
		}
	}
	if h, err := indexTree(idx.Entries); err == nil && h == commit.TreeHash {
		return nil, nil
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, err
	}
	out := map[string]byte{}
	seen := make(map[string]bool, len(entries))
	walker := object.NewTreeWalker(tree, true, nil)
	defer walker.Close()
	for {
		name, te, err := walker.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch te.Mode {
		case filemode.Dir:
			continue
		case filemode.Submodule:
			return nil, fmt.Errorf("%w: submodule %s", errFallback, name)
		}
		seen[name] = true
		e, ok := entries[name]
		switch {
		case !ok:
			out[name] = 'D'
		case e.Hash != te.Hash || e.Mode != te.Mode:
			out[name] = 'M'
		}
	}
	for name := range entries {
		if !seen[name] {
			out[name] = 'A'
		}
	}
	return out, nil
}

// indexTree returns the hash of the tree the index entries make (their
// modes, names and blob hashes), without writing or reading any object.
func indexTree(entries []*index.Entry) (plumbing.Hash, error) {
	type node struct {
		files []object.TreeEntry
		dirs  map[string]*node
	}
	root := &node{dirs: map[string]*node{}}
	for _, e := range entries {
		n := root
		parts := strings.Split(e.Name, "/")
		for _, d := range parts[:len(parts)-1] {
			c := n.dirs[d]
			if c == nil {
				c = &node{dirs: map[string]*node{}}
				n.dirs[d] = c
			}
			n = c
		}
		n.files = append(n.files, object.TreeEntry{Name: parts[len(parts)-1], Mode: e.Mode, Hash: e.Hash})
	}
	var hash func(n *node) (plumbing.Hash, error)
	hash = func(n *node) (plumbing.Hash, error) {
		t := &object.Tree{Entries: slices.Clone(n.files)}
		for name, c := range n.dirs {
			h, err := hash(c)
			if err != nil {
				return plumbing.Hash{}, err
			}
			t.Entries = append(t.Entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
		}
		// git orders a tree's entries by name, a directory's name taken
		// with a trailing slash.
		key := func(e object.TreeEntry) string {
			if e.Mode == filemode.Dir {
				return e.Name + "/"
			}
			return e.Name
		}
		slices.SortFunc(t.Entries, func(a, b object.TreeEntry) int { return strings.Compare(key(a), key(b)) })
		obj := &plumbing.MemoryObject{}
		if err := t.Encode(obj); err != nil {
			return plumbing.Hash{}, err
		}
		return obj.Hash(), nil
	}
	return hash(root)
}

// compareEntry returns ' ' when the tracked file matches its index entry,
// 'M' when it differs and 'D' when it is gone.
func compareEntry(root string, e *index.Entry, indexTime time.Time) (byte, error) {
	p := filepath.Join(root, filepath.FromSlash(e.Name))
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return 'D', nil
	}
	if err != nil {
		return 0, err
	}
	var mode filemode.FileMode
	switch {
	case fi.Mode().IsRegular() && fi.Mode()&0o111 != 0:
		mode = filemode.Executable
	case fi.Mode().IsRegular():
		mode = filemode.Regular
	case fi.Mode()&fs.ModeSymlink != 0:
		mode = filemode.Symlink
	default:
		return 0, fmt.Errorf("%w: %s is a %s", errFallback, e.Name, fi.Mode().Type())
	}
	if mode != e.Mode {
		return 'M', nil
	}
	if statMatches(fi, e, indexTime) {
		return ' ', nil
	}
	h, err := blobHash(p, fi)
	if err != nil {
		return 0, err
	}
	if h != e.Hash {
		return 'M', nil
	}
	return ' ', nil
}

// statMatches reports whether fi still has the stat data recorded in e and
// e is not racy (see quickStatus). Where the platform gives no ctime and
// inode, size and mtime decide, as in go-git.
func statMatches(fi fs.FileInfo, e *index.Entry, indexTime time.Time) bool {
	if uint32(fi.Size()) != e.Size || !fi.ModTime().Equal(e.ModifiedAt) {
		return false
	}
	if indexTime.IsZero() || !fi.ModTime().Before(indexTime) {
		return false // racy: changed in the same tick as the index was written, or later
	}
	if ctime, ino, ok := ctimeInode(fi); ok {
		if !ctime.Equal(e.CreatedAt) || uint32(ino) != e.Inode {
			return false
		}
		if !ctime.Before(indexTime) {
			return false
		}
	}
	return true
}

// blobHash is the git blob hash of the file at p: its content, or a
// symlink's target.
func blobHash(p string, fi fs.FileInfo) (plumbing.Hash, error) {
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(p)
		if err != nil {
			return plumbing.Hash{}, err
		}
		return plumbing.ComputeHash(plumbing.BlobObject, []byte(filepath.ToSlash(target))), nil
	}
	f, err := os.Open(p)
	if err != nil {
		return plumbing.Hash{}, err
	}
	defer f.Close()
	h := plumbing.NewHasher(plumbing.BlobObject, fi.Size())
	n, err := io.Copy(h, f)
	if err != nil {
		return plumbing.Hash{}, err
	}
	if n != fi.Size() {
		return plumbing.Hash{}, fmt.Errorf("%w: %s changed while being read", errFallback, p)
	}
	return h.Sum(), nil
}
