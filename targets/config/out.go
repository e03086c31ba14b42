package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gantrybuild/gantry/targets/internal/realpath"
)

// OutMarker is the file Gantry writes into the output directory when it
// creates it. Clean removes only a directory holding it, so a mistyped
// output directory can never cost a user files Gantry did not write.
const OutMarker = ".gantry"

const outMarkerText = "This directory was created by Gantry (https://github.com/gantrybuild/gantry) for its build output.\n" +
	"Gantry's clean target removes it, and only because this file is here: `go tool mage clean`\n" +
	"(`go -C magefiles tool mage -w .. clean` where mage is not a tool of the root module).\n"

// checkOut refuses an output directory that builds could write into and
// clean could delete although it is not Gantry's: the file system root, the
// home directory or one above it, a module root or a directory above one,
// or a file (CheckOutGit adds the .git directory and directories holding
// tracked files). from names where the setting came from (GANTRY_OUT or
// Project.Out), given is the value as set.
func checkOut(out, from, given string, modules []string) error {
	bad := func(what, fix string) error {
		return fmt.Errorf("output directory %q (%s) is %s: builds write there and clean deletes it; %s", given, from, what, fix)
	}
	const useOwn = "use a directory of its own, e.g. GANTRY_OUT=dist"
	dir := realpath.Of(out)
	if filepath.Dir(dir) == dir {
		return bad("the file system root", useOwn)
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		home = realpath.Of(home)
		if dir == home {
			return bad("your home directory", useOwn)
		}
		if within(home, dir) {
			return bad("a directory above your home directory", useOwn)
		}
	}
	for _, m := range modules {
		m = realpath.Of(m)
		if dir == m {
			return bad("the module root "+m, useOwn)
		}
		if within(m, dir) {
			return bad("a directory above the module "+m, useOwn)
		}
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return bad("a file, not a directory", useOwn)
	}
	return nil
}

// Tracked is gitinfo.Tracked: the first tracked path at or under dir, the
// work tree's root, and whether dir is the .git directory or inside it.
// It is passed in so that this package, which magefiles import, does not
// import git.
type Tracked func(dir string) (path, root string, inGitDir bool, err error)

// CheckOutGit refuses an output directory inside the .git directory or
// holding files git tracks, in the same terms as Load's other refusals.
func (c *Config) CheckOutGit(tracked Tracked) error {
	bad := func(what, fix string) error {
		return fmt.Errorf("output directory %q (%s) is %s: builds write there and clean deletes it; %s", c.outGiven, c.outFrom, what, fix)
	}
	const useOwn = "use a directory of its own, e.g. GANTRY_OUT=dist"
	dir := realpath.Of(c.Out)
	path, root, inGit, err := tracked(dir)
	if err != nil {
		return fmt.Errorf("checking output directory %q (%s): %w", c.outGiven, c.outFrom, err)
	}
	if inGit {
		return bad("inside the git directory of "+root, useOwn)
	}
	if path != "" {
		rel, _ := filepath.Rel(root, dir)
		return bad(fmt.Sprintf("a directory holding tracked files (%s)", path),
			fmt.Sprintf("use a directory git does not track, e.g. GANTRY_OUT=dist (if %s is earlier build output, `git rm -r --cached %s` and list it in .gitignore)", rel, filepath.ToSlash(rel)))
	}
	return nil
}

// within reports whether p lies below dir (not dir itself).
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// MakeOut creates the output directory with its marker, so that clean may
// remove it later. An existing directory gets the marker only when it is
// empty: one holding anything else is not Gantry's to delete.
func MakeOut(out string) error {
	entries, err := os.ReadDir(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(out, 0o755); err != nil {
			return fmt.Errorf("creating output directory: %w", err)
		}
	case err != nil:
		return fmt.Errorf("reading output directory: %w", err)
	case len(entries) > 0:
		return nil
	}
	if err := os.WriteFile(filepath.Join(out, OutMarker), []byte(outMarkerText), 0o644); err != nil {
		return fmt.Errorf("marking the output directory as Gantry's: %w", err)
	}
	return nil
}

// Clean removes the output directory when Gantry created it (it holds
// OutMarker), and writes what it removed to w. Without the marker it
// removes nothing and says why.
func Clean(out string, w io.Writer) error {
	entries, err := os.ReadDir(out)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(w, "nothing to clean: %s does not exist\n", out)
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading output directory: %w", err)
	}
	if _, err := os.Lstat(filepath.Join(out, OutMarker)); err != nil {
		return fmt.Errorf("%s was not created by Gantry (it holds no %s marker), so clean leaves it alone: delete it yourself if it holds only build output; Gantry marks the output directory it creates", out, OutMarker)
	}
	var names []string
	for _, e := range entries {
		if e.Name() != OutMarker {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	if err := os.RemoveAll(out); err != nil {
		return fmt.Errorf("removing %s: %w", out, err)
	}
	if len(names) == 0 {
		fmt.Fprintf(w, "removed %s (empty)\n", out)
	} else {
		fmt.Fprintf(w, "removed %s (%s)\n", out, strings.Join(names, ", "))
	}
	return nil
}
