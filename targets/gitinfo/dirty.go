package gitinfo

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// dirty reports whether the work tree differs from HEAD (see Read). go-git's
// Status walks ignored directories before discarding what it found there, so
// it is given a view of the work tree without untracked ignored entries: with
// them a checkout holding a large ignored directory took seconds.
func dirty(repo *git.Repository) (bool, error) {
	wt, err := repo.Worktree()
	if errors.Is(err, git.ErrIsBareRepository) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("opening work tree: %w", err)
	}
	exclude, err := infoExclude(repo)
	if err != nil {
		return false, err
	}
	patterns, err := gitignore.ReadPatterns(wt.Filesystem, nil)
	if err != nil {
		return false, fmt.Errorf("reading .gitignore files: %w", err)
	}
	idx, err := repo.Storer.Index()
	if err != nil {
		return false, fmt.Errorf("reading the index: %w", err)
	}
	wt.Excludes = append(wt.Excludes, exclude...)
	wt.Filesystem = &prunedFS{
		Filesystem: wt.Filesystem,
		ignored:    gitignore.NewMatcher(append(exclude, patterns...)),
		tracked:    trackedPaths(idx),
	}
	status, err := wt.Status()
	if err != nil {
		return false, fmt.Errorf("reading work tree status: %w", err)
	}
	return !status.IsClean(), nil
}

// prunedFS hides untracked ignored files and directories from ReadDir. Like
// git, it does not look inside an ignored directory, so a negated pattern
// cannot re-include a file below one.
type prunedFS struct {
	billy.Filesystem
	ignored gitignore.Matcher
	tracked map[string]bool // tracked files and their parent directories
}

func (fs *prunedFS) ReadDir(dir string) ([]os.FileInfo, error) {
	fis, err := fs.Filesystem.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var parts []string
	if dir = path.Clean(filepath.ToSlash(dir)); dir != "." && dir != "/" {
		parts = strings.Split(strings.Trim(dir, "/"), "/")
	}
	kept := fis[:0]
	for _, fi := range fis {
		p := append(parts[:len(parts):len(parts)], fi.Name())
		if !fs.tracked[strings.Join(p, "/")] && fs.ignored.Match(p, fi.IsDir()) {
			continue
		}
		kept = append(kept, fi)
	}
	return kept, nil
}

// trackedPaths returns the index's paths and every directory above them.
func trackedPaths(idx *index.Index) map[string]bool {
	tracked := make(map[string]bool, len(idx.Entries))
	for _, e := range idx.Entries {
		for p := e.Name; p != "." && !tracked[p]; p = path.Dir(p) {
			tracked[p] = true
		}
	}
	return tracked
}

// infoExclude reads .git/info/exclude. go-git v5.19 means to, but its work
// tree filesystem refuses paths under .git, so Status misses the file.
func infoExclude(repo *git.Repository) ([]gitignore.Pattern, error) {
	s, ok := repo.Storer.(interface{ Filesystem() billy.Filesystem })
	if !ok {
		return nil, nil
	}
	f, err := s.Filesystem().Open("info/exclude")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening info/exclude: %w", err)
	}
	defer f.Close()
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, nil))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading info/exclude: %w", err)
	}
	return ps, nil
}
