package gitinfo

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// dirty reports whether the work tree differs from HEAD (see Read). go-git
// walks every file, ignored directories included, before filtering, and
// hashes files whose stat data changed, so this is the slow part of Read in
// big trees.
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
	wt.Excludes = append(wt.Excludes, exclude...)
	status, err := wt.Status()
	if err != nil {
		return false, fmt.Errorf("reading work tree status: %w", err)
	}
	return !status.IsClean(), nil
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
