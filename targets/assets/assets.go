// Package assets resolves the files an image carries besides its binary
// (Image.Files, and a main package's kodata/ as ko ships it) into a sorted
// list of entries: what goes where in the image, with which mode, from
// which file of the module. Everything that can be wrong with them (a
// source that is missing or outside the module, a destination that is not
// an absolute path, a symlink that points out of its tree, a file over the
// size limit, two sources for one path) is found here, before anything is
// built. Package assemble packs the entries into a layer of their own.
package assets

import (
	"archive/tar"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// KoDataPath is where ko puts a main package's kodata/ directory, and the
// value of KO_DATA_PATH it sets: Gantry does the same, so images built
// from a ko project carry the same files at the same place.
const KoDataPath = "/var/run/ko"

// LayerAnnotation marks, in an image manifest, the layer that holds the
// entries (with the value LayerValue), so that the SBOM lists its files
// without guessing which layers are the base's.
const (
	LayerAnnotation = "build.gantry.layer"
	LayerValue      = "files"
)

// Spec is one configured copy: a file, a directory (its contents) or a glob
// of the module, and where it goes in the image.
type Spec struct {
	Field string      // what configured it, for messages: Files[0], kodata
	Src   string      // path or glob, slash-separated, relative to the module directory
	Dst   string      // absolute path in the image (see Resolve)
	Mode  fs.FileMode // permission bits of the regular files; 0: 0755 when the source has an executable bit, else 0644
}

// Entry is one path of the files layer.
type Entry struct {
	Path   string      // absolute, clean slash path in the image
	Type   byte        // tar.TypeReg, tar.TypeDir or tar.TypeSymlink
	Mode   fs.FileMode // permission bits: 0755 for directories
	Size   int64       // regular files
	Link   string      // symlinks: the target, relative, as in the source
	Source string      // regular files: absolute path on disk
	SHA256 string      // regular files: hex SHA-256 of the content (filled in by Sum)
	From   string      // the Spec.Field that brought it
}

// Options tune Resolve.
type Options struct {
	MaxFileSize int64 // a regular file larger than this is refused; 0: no limit
}

// Resolve expands specs against the module directory dir into the entries
// of the files layer, sorted by path, with every parent directory present.
//
//   - A file goes to Dst, or into Dst when Dst ends in "/".
//   - A directory's contents go under Dst (as ko's kodata/ goes under
//     /var/run/ko, and as Dockerfile COPY copies a directory).
//   - A glob (*, ?, [) puts each match into the directory Dst under its own
//     name; it must match something.
//
// Sources are paths in the module (no absolute path, no ".."). A symlink
// inside a copied directory is kept as a symlink when its target is
// relative and stays inside that directory; any other symlink is refused,
// as are sockets, devices and FIFOs. A source named directly that is a
// symlink is read through, when what it names is in the module.
func Resolve(dir string, specs []Spec, o Options) ([]Entry, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	r := &resolver{dir: dir, o: o, byPath: map[string]Entry{}}
	for _, s := range specs {
		if err := r.spec(s); err != nil {
			return nil, err
		}
	}
	out := make([]Entry, 0, len(r.byPath))
	for _, e := range r.byPath {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

type resolver struct {
	dir    string
	o      Options
	byPath map[string]Entry
}

// CheckDst reports what is wrong with an image path a file is copied to.
func CheckDst(dst string) error {
	switch {
	case dst == "":
		return fmt.Errorf("is empty: give an absolute path in the image, e.g. /etc/app/")
	case !strings.HasPrefix(dst, "/"):
		return fmt.Errorf("is not an absolute path in the image: start it with /, e.g. /%s", dst)
	case strings.Contains(dst, "\\"):
		return fmt.Errorf("has a backslash: image paths are slash-separated, also for windows images (/app/web becomes C:\\app\\web)")
	}
	for _, el := range strings.Split(dst, "/") {
		if el == ".." || el == "." {
			return fmt.Errorf("has a %q element, which could escape /: write the path it means without it", el)
		}
	}
	if strings.Contains(strings.TrimSuffix(dst, "/"), "//") {
		return fmt.Errorf("has an empty element (//): write it with single slashes")
	}
	return nil
}

func (r *resolver) spec(s Spec) error {
	where := fmt.Sprintf("%s.Src %q", s.Field, s.Src)
	if err := CheckDst(s.Dst); err != nil {
		return fmt.Errorf("%s.Dst %q %w", s.Field, s.Dst, err)
	}
	if s.Mode&^fs.ModePerm != 0 {
		return fmt.Errorf("%s.Mode %v has more than permission bits: use e.g. 0o644 or 0o755 (0: from the source's executable bit)", s.Field, s.Mode)
	}
	src := filepath.ToSlash(s.Src)
	clean := path.Clean(src)
	switch {
	case s.Src == "":
		return fmt.Errorf("%s.Src is empty: name a file, directory or glob of the module, e.g. web/static", s.Field)
	case path.IsAbs(src) || filepath.IsAbs(s.Src):
		return fmt.Errorf("%s is absolute: sources are paths in the module %s, e.g. web/static", where, r.dir)
	case clean == ".." || strings.HasPrefix(clean, "../"):
		return fmt.Errorf("%s leaves the module %s: copy only files of the module (move them in, or set Image.Dir to a directory that holds them)", where, r.dir)
	}
	dst := strings.TrimSuffix(s.Dst, "/")
	intoDir := strings.HasSuffix(s.Dst, "/") || s.Dst == "/"
	if strings.ContainsAny(clean, "*?[") {
		matches, err := filepath.Glob(filepath.Join(r.dir, filepath.FromSlash(clean)))
		if err != nil {
			return fmt.Errorf("%s is not a valid glob (%v): use *, ? and [a-z] as path.Match does", where, err)
		}
		if len(matches) == 0 {
			return fmt.Errorf("%s matches nothing in %s: fix the pattern, or remove the entry", where, r.dir)
		}
		for _, m := range matches {
			if err := r.source(s, m, path.Join("/", dst, filepath.Base(m)), false); err != nil {
				return err
			}
		}
		return nil
	}
	abs := filepath.Join(r.dir, filepath.FromSlash(clean))
	if _, err := os.Lstat(abs); err != nil {
		return fmt.Errorf("%s: %s does not exist: fix the path (relative to the module directory), or remove the entry", where, abs)
	}
	return r.source(s, abs, dst, intoDir)
}

// source adds the file or directory at abs (a path in the module), whose
// image path is dst (or dst/<name> for a file when intoDir).
func (r *resolver) source(s Spec, abs, dst string, intoDir bool) error {
	where := fmt.Sprintf("%s.Src %q", s.Field, s.Src)
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return fmt.Errorf("%s: %s is a symlink to nothing: fix the link, or remove the entry", where, abs)
	}
	if !within(r.dir, real) {
		return fmt.Errorf("%s: %s points outside the module (%s): copy only files of the module", where, abs, real)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	switch {
	case fi.IsDir():
		if dst == "" {
			dst = "/"
		}
		if err := r.add(s, Entry{Path: dst, Type: tar.TypeDir, Mode: 0o755, From: s.Field}); err != nil {
			return err
		}
		return r.walk(s, real, dst)
	case fi.Mode().IsRegular():
		if intoDir || dst == "" {
			dst = path.Join("/", dst, filepath.Base(abs))
		}
		return r.file(s, real, dst, fi)
	}
	return fmt.Errorf("%s: %s is a %s, not a file or directory: remove it from the entry", where, abs, kind(fi.Mode()))
}

// walk adds the tree under root (a real directory) at dst.
func (r *resolver) walk(s Spec, root, dst string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%s.Src %q: reading %s: %w", s.Field, s.Src, p, err)
		}
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		img := path.Join(dst, filepath.ToSlash(rel))
		fi, err := d.Info()
		if err != nil {
			return fmt.Errorf("%s.Src %q: reading %s: %w", s.Field, s.Src, p, err)
		}
		switch m := fi.Mode(); {
		case m.IsDir():
			return r.add(s, Entry{Path: img, Type: tar.TypeDir, Mode: 0o755, From: s.Field})
		case m.IsRegular():
			return r.file(s, p, img, fi)
		case m&fs.ModeSymlink != 0:
			return r.symlink(s, root, p, img)
		default:
			return fmt.Errorf("%s.Src %q: %s is a %s, which an image layer should not carry: remove it from %s", s.Field, s.Src, p, kind(m), root)
		}
	})
}

// symlink keeps the link at p when its target is relative and inside root.
func (r *resolver) symlink(s Spec, root, p, img string) error {
	target, err := os.Readlink(p)
	if err != nil {
		return fmt.Errorf("%s.Src %q: reading link %s: %w", s.Field, s.Src, p, err)
	}
	if filepath.IsAbs(target) || path.IsAbs(filepath.ToSlash(target)) {
		return fmt.Errorf("%s.Src %q: symlink %s points to the absolute path %s, which means another file in the image: make it a relative link inside %s, or copy the file itself", s.Field, s.Src, p, target, root)
	}
	if !within(root, filepath.Join(filepath.Dir(p), target)) {
		return fmt.Errorf("%s.Src %q: symlink %s points outside the copied tree (%s): copy its target into %s, or replace the link with the file", s.Field, s.Src, p, target, root)
	}
	return r.add(s, Entry{Path: img, Type: tar.TypeSymlink, Mode: 0o777, Link: filepath.ToSlash(target), From: s.Field})
}

func (r *resolver) file(s Spec, abs, img string, fi fs.FileInfo) error {
	if r.o.MaxFileSize > 0 && fi.Size() > r.o.MaxFileSize {
		return fmt.Errorf("%s.Src %q: %s is %d bytes, over the size limit of %d bytes (MaxFileSize / GANTRY_MAX_FILE_SIZE): leave it out, or raise the limit", s.Field, s.Src, abs, fi.Size(), r.o.MaxFileSize)
	}
	mode := s.Mode
	if mode == 0 {
		mode = 0o644
		if fi.Mode()&0o111 != 0 {
			mode = 0o755
		}
	}
	return r.add(s, Entry{Path: img, Type: tar.TypeReg, Mode: mode, Size: fi.Size(), Source: abs, From: s.Field})
}

// add records e and its parent directories; a path two entries give
// differently is an error naming both.
func (r *resolver) add(s Spec, e Entry) error {
	if e.Path == "/" {
		return nil // the root is every image's
	}
	for d := path.Dir(e.Path); d != "/" && d != "."; d = path.Dir(d) {
		if err := r.put(s, Entry{Path: d, Type: tar.TypeDir, Mode: 0o755, From: s.Field}); err != nil {
			return err
		}
	}
	return r.put(s, e)
}

func (r *resolver) put(s Spec, e Entry) error {
	old, ok := r.byPath[e.Path]
	if !ok {
		r.byPath[e.Path] = e
		return nil
	}
	if old.Type == tar.TypeDir && e.Type == tar.TypeDir {
		return nil
	}
	if old.Type == e.Type && old.Source == e.Source && old.Link == e.Link && old.Mode == e.Mode {
		return nil // the same file, named twice
	}
	return fmt.Errorf("%s and %s both put %s in the image (%s): give each its own destination", old.From, s.Field, e.Path, describe(old, e))
}

func describe(a, b Entry) string {
	name := func(e Entry) string {
		switch e.Type {
		case tar.TypeDir:
			return "a directory"
		case tar.TypeSymlink:
			return "a link to " + e.Link
		}
		return e.Source
	}
	return name(a) + " and " + name(b)
}

// within reports whether p is root or below it (both absolute, cleaned).
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}
