package gitinfo

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// maxChanges is how many changed paths changes returns.
const maxChanges = 10

// changes lists (up to maxChanges) paths where the work tree differs from
// HEAD (see Read); none means clean. Paths under ignore (absolute) do not
// count. quickStatus answers when it can, else go-git's Status.
func changes(repo *git.Repository, ignore []string) ([]string, error) {
	wt, err := repo.Worktree()
	if errors.Is(err, git.ErrIsBareRepository) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening work tree: %w", err)
	}
	exclude, negated, err := infoExclude(repo)
	if err != nil {
		return nil, err
	}
	ignored := ignorePatterns(wt.Filesystem.Root(), ignore)
	exclude = append(exclude, ignored...)
	var status map[string]*fileStatus
	if !negated {
		status, err = quickStatus(repo, wt.Filesystem.Root(), exclude)
	}
	if negated || err != nil {
		if status, err = goGitStatus(repo, wt, exclude); err != nil {
			return nil, err
		}
	}
	var out []string
	for p, st := range status {
		if st.x == ' ' && st.y == ' ' {
			continue
		}
		if gitignore.NewMatcher(ignored).Match(strings.Split(p, "/"), false) {
			continue // a tracked file under an ignored output directory
		}
		out = append(out, fmt.Sprintf("%c%c %s", st.x, st.y, p))
	}
	sort.Slice(out, func(i, j int) bool { return out[i][3:] < out[j][3:] })
	if len(out) > maxChanges {
		out = append(out[:maxChanges], fmt.Sprintf("… and %d more", len(out)-maxChanges))
	}
	return out, nil
}

// goGitStatus is go-git's Status of wt. go-git's Status walks ignored
// directories before discarding what it found there, so it is given a view
// of the work tree without untracked ignored entries: with them a checkout
// holding a large ignored directory took seconds.
func goGitStatus(repo *git.Repository, wt *git.Worktree, exclude []gitignore.Pattern) (map[string]*fileStatus, error) {
	patterns, err := gitignore.ReadPatterns(wt.Filesystem, nil)
	if err != nil {
		return nil, fmt.Errorf("reading .gitignore files: %w", err)
	}
	idx, err := repo.Storer.Index()
	if err != nil {
		return nil, fmt.Errorf("reading the index: %w", err)
	}
	wt.Excludes = append(wt.Excludes, exclude...)
	wt.Filesystem = &prunedFS{
		Filesystem: wt.Filesystem,
		ignored:    gitignore.NewMatcher(append(exclude, patterns...)),
		tracked:    trackedPaths(idx),
	}
	status, err := wt.Status()
	if err != nil {
		return nil, fmt.Errorf("reading work tree status: %w", err)
	}
	out := make(map[string]*fileStatus, len(status))
	for p, st := range status {
		out[p] = &fileStatus{byte(st.Staging), byte(st.Worktree)}
	}
	return out, nil
}

// ignorePatterns turns absolute paths inside the work tree at root into
// anchored ignore patterns.
func ignorePatterns(root string, paths []string) []gitignore.Pattern {
	var out []gitignore.Pattern
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		realRoot = root
	}
	for _, p := range paths {
		if rp, err := filepath.EvalSymlinks(p); err == nil {
			p = rp
		}
		rel, err := filepath.Rel(realRoot, p)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
			continue
		}
		out = append(out, gitignore.ParsePattern("/"+filepath.ToSlash(rel), nil))
	}
	return out
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

// infoExclude reads .git/info/exclude, and whether it has a negated
// pattern. go-git v5.19 means to, but its work tree filesystem refuses
// paths under .git, so Status misses the file.
func infoExclude(repo *git.Repository) (ps []gitignore.Pattern, negated bool, err error) {
	s, ok := repo.Storer.(interface{ Filesystem() billy.Filesystem })
	if !ok {
		return nil, false, nil
	}
	f, err := s.Filesystem().Open("info/exclude")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("opening info/exclude: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		negated = negated || strings.HasPrefix(line, "!")
		ps = append(ps, gitignore.ParsePattern(line, nil))
	}
	if err := sc.Err(); err != nil {
		return nil, false, fmt.Errorf("reading info/exclude: %w", err)
	}
	return ps, negated, nil
}
