package gitinfo

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// walker lists untracked files the way changes' prunedFS and go-git's
// Status do, reading each directory once.
type walker struct {
	root     string
	entries  map[string]*index.Entry
	tracked  map[string]bool // directories holding tracked files
	ignored  gitignore.Matcher
	listings map[string][]os.DirEntry
}

func (w *walker) list(parts []string) ([]os.DirEntry, error) {
	rel := strings.Join(parts, "/")
	if l, ok := w.listings[rel]; ok {
		return l, nil
	}
	l, err := os.ReadDir(filepath.Join(w.root, filepath.FromSlash(rel)))
	if err != nil {
		return nil, err
	}
	w.listings[rel] = l
	return l, nil
}

// readPatterns collects the .gitignore patterns as go-git's
// gitignore.ReadPatterns does (a directory that its parent's patterns
// ignore is not entered), refusing negated patterns: with none, whether a
// path is ignored does not depend on the patterns' order, which differs
// between go-git's two uses of them.
func (w *walker) readPatterns(parts []string) ([]gitignore.Pattern, error) {
	l, err := w.list(parts)
	if err != nil {
		return nil, err
	}
	var ps []gitignore.Pattern
	if slices.ContainsFunc(l, func(d os.DirEntry) bool { return d.Name() == ".gitignore" }) {
		ps, err = readIgnoreFile(filepath.Join(w.root, filepath.FromSlash(strings.Join(parts, "/")), ".gitignore"), parts)
		if err != nil {
			return nil, err
		}
	}
	for _, d := range l {
		if !d.IsDir() || d.Name() == ".git" {
			continue
		}
		sub := append(parts[:len(parts):len(parts)], d.Name())
		if gitignore.NewMatcher(ps).Match(sub, true) || w.unreadable(sub) {
			continue
		}
		subps, err := w.readPatterns(sub)
		if err != nil {
			return nil, err
		}
		ps = append(ps, subps...)
	}
	return ps, nil
}

// readIgnoreFile parses a .gitignore file as go-git does; like go-git, it
// skips a file it cannot read.
func readIgnoreFile(file string, domain []string) ([]gitignore.Pattern, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil
	}
	defer f.Close()
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		s := sc.Text()
		if strings.HasPrefix(s, "#") || strings.TrimSpace(s) == "" {
			continue
		}
		if strings.HasPrefix(s, "!") {
			return nil, fmt.Errorf("%w: %s negates a pattern", errFallback, file)
		}
		ps = append(ps, gitignore.ParsePattern(s, domain))
	}
	return ps, sc.Err()
}

// untracked appends the untracked, not ignored files under the directory
// parts to out. Like prunedFS, it skips an untracked entry the ignore
// patterns match (and so never enters an ignored untracked directory);
// like git, it skips .git, sockets, FIFOs, devices and directories it may
// not read.
func (w *walker) untracked(parts []string, out *[]string) error {
	l, err := w.list(parts)
	if err != nil {
		return err
	}
	for _, d := range l {
		name := d.Name()
		if name == ".git" || d.Type()&fs.ModeSocket != 0 {
			continue
		}
		sub := append(parts[:len(parts):len(parts)], name)
		p := strings.Join(sub, "/")
		isDir := d.IsDir()
		_, isFile := w.entries[p]
		switch {
		case isDir && isFile, !isDir && w.tracked[p]:
			return fmt.Errorf("%w: %s is tracked as a file and is a directory, or the reverse", errFallback, p)
		case isFile:
			continue // compared with its index entry
		case w.tracked[p]:
			if err := w.untracked(sub, out); err != nil {
				return err
			}
			continue
		}
		if w.ignored.Match(sub, isDir) {
			continue
		}
		switch {
		case isDir && w.unreadable(sub):
			continue // git warns and looks no further
		case isDir:
			if err := w.untracked(sub, out); err != nil {
				return err
			}
		case d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0:
			*out = append(*out, p)
		}
		// FIFOs and devices: git lists no such file.
	}
	return nil
}

// unreadable reports whether the directory parts may not be listed (git
// then warns and skips it; go-git's Status fails).
func (w *walker) unreadable(parts []string) bool {
	_, err := w.list(parts)
	return errors.Is(err, fs.ErrPermission)
}
