package gitinfo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"

	"github.com/gantrybuild/gantry/targets/internal/realpath"
)

// Tracked returns the first path at or under dir (absolute) that the git
// index of the repository holding dir lists, as a path relative to the
// work tree, and the work tree's root; "" when dir holds no tracked file,
// lies outside any repository, or is the .git directory or inside it
// (then inGitDir is true). dir need not exist: the nearest existing
// directory above it finds the repository, and a tracked file deleted
// from the work tree still counts.
func Tracked(dir string) (path, root string, inGitDir bool, err error) {
	dir = realpath.Of(dir)
	start := dir
	for {
		if fi, err := os.Stat(start); err == nil && fi.IsDir() {
			break
		}
		parent := filepath.Dir(start)
		if parent == start {
			return "", "", false, nil
		}
		start = parent
	}
	repo, err := git.PlainOpenWithOptions(start, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("opening the git repository holding %s: %w", dir, err)
	}
	wt, err := repo.Worktree()
	if errors.Is(err, git.ErrIsBareRepository) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("opening the work tree holding %s: %w", dir, err)
	}
	root = realpath.Of(wt.Filesystem.Root())
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", root, false, nil
	}
	rel = filepath.ToSlash(rel)
	if rel == ".git" || strings.HasPrefix(rel, ".git/") {
		return "", root, true, nil
	}
	idx, err := repo.Storer.Index()
	if err != nil {
		return "", root, false, fmt.Errorf("reading the git index of %s: %w", root, err)
	}
	for _, e := range idx.Entries {
		if rel == "." || e.Name == rel || strings.HasPrefix(e.Name, rel+"/") {
			return e.Name, root, false, nil
		}
	}
	return "", root, false, nil
}
