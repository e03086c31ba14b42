package compile

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/gantrybuild/gantry/targets/internal/atomicfile"
	"github.com/gantrybuild/gantry/targets/internal/goenv"
	"github.com/gantrybuild/gantry/targets/internal/statcache"
)

// The shortcut skips go build for a platform whose inputs are unchanged
// since its binary was last built, as a build system that tracks its
// inputs would. go build's own up-to-date check is exact but loads and
// hashes every package, which for a large program costs most of a no-op
// release; the shortcut instead compares stat signatures.
//
// The inputs are:
//   - every file under the module directory and under the directories of
//     go.mod's local replace directives (except .git and the paths in
//     Request.Exclude), by path and stat signature (device, inode, size,
//     mode, mtime, ctime: any write changes the ctime, which no program can
//     set back), so an edit, a new or removed file, a checkout or a
//     `go mod vendor` all count. A symlink counts by its target's
//     signature (a dangling one by its own, and by being dangling), a
//     symlinked directory by the files under it, as go build reads
//     through both (not under testdata, _ or . directories, which go build
//     does not read); sockets, FIFOs and unreadable directories count by
//     their own signature;
//   - every file a go setting names: the -pgo profile and the -modfile
//     (with its go.sum) of GOFLAGS, from the environment or go env -w;
//   - the toolchain: GOVERSION, GOROOT and the signatures of the compiler,
//     linker and assembler;
//   - the go command's settings that change its output (GOFLAGS, GOEXPERIMENT,
//     levels set with go env -w, …), every GO* and CGO_* variable of the
//     build's environment, and the go build command line itself;
//   - the binary: its signature right after the build.
//
// Dependencies in the module cache are covered by go.sum: the cache is
// read-only and verified by vendor:check.
//
// It stays off (go build always runs, and Run says why once per process)
// where those inputs are not the whole story: a go.work workspace, a
// development toolchain, a platform without ctime, or more than
// maxInputFiles files. (-overlay and -toolexec, which name more inputs,
// are refused by CheckGOFLAGS.) A signature is recorded
// only when nothing changed during the build and no file changed within
// statcache.RacyWindow before it (a second write in the same clock tick
// would leave the signature as it was).
type shortcut struct {
	dir      string   // where stamps are kept
	roots    []string // module dir and local replacements
	files    []string // files named by go settings (-pgo, -modfile), absolute
	exclude  []string // absolute paths not walked
	base     string   // hash of the toolchain and go settings
	tree     string   // hash of the file signatures, before the builds
	racy     bool     // a file changed too recently to trust its signature
	walkedAt time.Time
}

// maxInputFiles bounds the walk: a tree this large is better left to go
// build's own check.
const maxInputFiles = 200_000

// racyWindow is statcache.RacyWindow; tests shorten it.
var racyWindow = statcache.RacyWindow

// newShortcut returns the shortcut for req, or nil and why it is off (see
// shortcut).
func newShortcut(req Request, vars goenv.Vars) (*shortcut, string) {
	switch {
	case req.StampDir == "":
		return nil, "" // off by request: nothing to say
	case !strings.HasPrefix(vars.GOVERSION, "go1.") || strings.Contains(vars.GOVERSION, "devel"):
		return nil, fmt.Sprintf("development toolchain %s", vars.GOVERSION)
	case vars.GOWORK != "" && vars.GOWORK != "off":
		return nil, fmt.Sprintf("go.work workspace %s (its modules are not tracked)", vars.GOWORK)
	}
	files, modFile, err := settingFiles(req.Dir, vars.GOFLAGS)
	if err != nil {
		return nil, err.Error()
	}
	roots, err := inputRoots(req.Dir, modFile)
	if err != nil {
		return nil, err.Error()
	}
	h := sha256.New()
	fmt.Fprintf(h, "gantry compile shortcut 2\n")
	for _, k := range slices.Sorted(maps.Keys(vars.Build)) {
		fmt.Fprintf(h, "go env %s=%q\n", k, vars.Build[k])
	}
	for _, tool := range []string{"compile", "link", "asm"} {
		fi, err := os.Stat(filepath.Join(vars.GOTOOLDIR, tool))
		if err != nil {
			return nil, fmt.Sprintf("reading the toolchain: %v", err)
		}
		sig, _, ok := statcache.Signature(fi)
		if !ok {
			return nil, "no stat signatures on this platform"
		}
		fmt.Fprintf(h, "tool %s %s\n", tool, sig)
	}
	exclude := []string{absOrEmpty(req.StampDir), req.OutDir}
	for _, e := range req.Exclude {
		exclude = append(exclude, absOrEmpty(e))
	}
	s := &shortcut{dir: req.StampDir, roots: roots, files: files, exclude: exclude, base: hex.EncodeToString(h.Sum(nil))}
	if s.tree, s.racy, err = s.walk(); err != nil {
		return nil, err.Error()
	}
	return s, ""
}

// settingFiles returns the files the go command reads because of goflags
// (GOFLAGS as `go env` reports it), absolute: the -pgo profile and the
// -modfile with its go.sum; modFile is the -modfile ("" for dir/go.mod).
// Relative paths are relative to dir, where go build runs. -pgo=auto, the
// default, reads default.pgo in the main package's directory, which is in
// the tree.
func settingFiles(dir, goflags string) (files []string, modFile string, err error) {
	fields, err := splitQuoted(goflags)
	if err != nil {
		return nil, "", fmt.Errorf("GOFLAGS %q: %w", goflags, err)
	}
	abs := func(p string) string {
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return filepath.Clean(p)
	}
	for _, f := range fields {
		name, value, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
		switch {
		case name == "pgo" && value != "" && value != "auto" && value != "off":
			files = append(files, abs(value))
		case name == "modfile" && value != "":
			modFile = abs(value)
			files = append(files, modFile, strings.TrimSuffix(modFile, ".mod")+".sum")
		}
	}
	return files, modFile, nil
}

func absOrEmpty(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return ""
	}
	return a
}

// inputRoots is the module directory and the directories of the local
// replacements of its go.mod (or of modFile, when -modfile names another),
// absolute.
func inputRoots(dir, modFile string) ([]string, error) {
	gomod := filepath.Join(dir, "go.mod")
	if _, err := os.Stat(gomod); err != nil {
		return nil, fmt.Errorf("%s is not a module root: %w", dir, err) // the walk would miss go.mod
	}
	if modFile != "" {
		gomod = modFile
	}
	data, err := os.ReadFile(gomod)
	if err != nil {
		return nil, err
	}
	f, err := modfile.Parse(gomod, data, nil)
	if err != nil {
		return nil, err
	}
	roots := []string{dir}
	for _, r := range f.Replace {
		if r.New.Version != "" {
			continue
		}
		p := filepath.FromSlash(r.New.Path)
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		roots = append(roots, filepath.Clean(p))
	}
	return roots, nil
}

// walk hashes the path and signature of every file under the roots and of
// the files named by settings. An error says why the shortcut cannot be
// used.
func (s *shortcut) walk() (sum string, racy bool, err error) {
	w := &walker{h: sha256.New(), exclude: s.exclude, since: time.Now().Add(-racyWindow), seen: map[string]bool{}, unsearchable: map[string]bool{}}
	s.walkedAt = time.Now()
	for _, f := range s.files {
		fmt.Fprintf(w.h, "setting file %q ", f)
		fi, err := os.Stat(f)
		if err != nil {
			fmt.Fprintf(w.h, "missing\n")
			continue
		}
		if err := w.add(f, fi); err != nil {
			return "", false, err
		}
	}
	for _, root := range s.roots {
		fmt.Fprintf(w.h, "root %s\n", root)
		if real, err := filepath.EvalSymlinks(root); err == nil {
			w.seen[real] = true
		}
		if err := w.tree(root, root); err != nil {
			return "", false, err
		}
	}
	return hex.EncodeToString(w.h.Sum(nil)), w.racy, nil
}

// walker hashes file signatures for walk.
type walker struct {
	h       hash.Hash
	exclude []string
	since   time.Time       // a file changed after this is racy
	seen    map[string]bool // real paths of the roots and of the symlinked directories followed
	n       int
	racy    bool

	unsearchable map[string]bool // directories counted because their entries may not be read
}

// add hashes one file's signature.
func (w *walker) add(p string, fi fs.FileInfo) error {
	if w.n++; w.n > maxInputFiles {
		return fmt.Errorf("more than %d files under the module and its replacements", maxInputFiles)
	}
	sig, changed, ok := statcache.Signature(fi)
	if !ok {
		return errors.New("no stat signatures on this platform")
	}
	if changed.After(w.since) {
		w.racy = true
	}
	fmt.Fprintf(w.h, "%q %s\n", p, sig)
	return nil
}

// tree hashes what is under dir, naming each file as if dir were at name
// (they differ under a followed symlink).
func (w *walker) tree(dir, name string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		at := name + p[len(dir):]
		if err != nil {
			if errors.Is(err, fs.ErrPermission) {
				return w.unreadable(p, at)
			}
			return fmt.Errorf("reading %s: %w", p, err)
		}
		if d.IsDir() {
			if p != dir && (d.Name() == ".git" || slices.Contains(w.exclude, p)) {
				return filepath.SkipDir
			}
			return nil
		}
		if slices.Contains(w.exclude, p) {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrPermission) {
			return w.unreadable(p, at)
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return w.add(at, fi) // regular files, sockets, FIFOs, devices
		}
		// go build reads through a symlink: count its target.
		target, err := os.Stat(p)
		if err != nil {
			// Dangling (or a loop): counted by the link's own signature
			// and by being dangling, so a target appearing counts.
			fmt.Fprintf(w.h, "dangling ")
			return w.add(at, fi)
		}
		if !target.IsDir() {
			return w.add(at, target)
		}
		fmt.Fprintf(w.h, "symlinked dir ")
		if err := w.add(at, fi); err != nil {
			return err
		}
		if goIgnores(dir, p) {
			return nil
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		if w.seen[real] {
			return nil // a loop, or a directory already counted
		}
		w.seen[real] = true
		return w.tree(real, at)
	})
}

// unreadable counts what the walk may not read at p by a signature it can
// take, and skips it: a directory that may not be listed by its own, one
// that may be listed but not entered (p is then an entry of it) by that
// directory's, once. go build cannot read under either; making it readable
// changes the directory's ctime.
func (w *walker) unreadable(p, at string) error {
	fi, err := os.Lstat(p)
	if err == nil && fi.IsDir() {
		fmt.Fprintf(w.h, "unreadable ")
		if err := w.add(at, fi); err != nil {
			return err
		}
		return filepath.SkipDir
	}
	if !errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("reading %s: %w", p, cmp.Or(err, fs.ErrPermission))
	}
	parent, parentAt := filepath.Dir(p), filepath.Dir(at)
	if w.unsearchable[parent] {
		return nil
	}
	w.unsearchable[parent] = true
	fi, err = os.Lstat(parent)
	if err != nil {
		return fmt.Errorf("reading %s: %w", parent, err)
	}
	fmt.Fprintf(w.h, "unsearchable ")
	return w.add(parentAt, fi)
}

// goIgnores reports whether go build skips p, below dir, when it looks for
// packages: an element of its path is testdata or starts with _ or .
func goIgnores(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return false
	}
	for _, e := range strings.Split(rel, string(filepath.Separator)) {
		if e == "testdata" || strings.HasPrefix(e, "_") || strings.HasPrefix(e, ".") {
			return true
		}
	}
	return false
}

// offNoted holds the reasons already logged, so each is said once per
// process (a release runs one Run per image).
var offNoted sync.Map

// noteOff says, once per process for dir and why, that the shortcut is off.
func noteOff(log io.Writer, dir, why string) {
	if why == "" {
		return
	}
	if _, done := offNoted.LoadOrStore(dir+"\x00"+why, true); !done {
		fmt.Fprintf(log, "compile: go build checks every package of %s (the up-to-date shortcut is off: %s)\n", dir, why)
	}
}

// key identifies one platform's build: the tree, the toolchain and
// settings, the command line and the GO*/CGO_* environment.
func (s *shortcut) key(args, env []string) string {
	h := sha256.New()
	fmt.Fprintf(h, "base %s\ntree %s\n", s.base, s.tree)
	for _, a := range args {
		fmt.Fprintf(h, "arg %q\n", a)
	}
	for _, kv := range goVars(env) {
		fmt.Fprintf(h, "env %q\n", kv)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (s *shortcut) stampFile(out string) string {
	return filepath.Join(s.dir, filepath.Base(out)+".stamp")
}

// upToDate reports whether out was built from inputs with this key and is
// untouched since.
func (s *shortcut) upToDate(out, key string) bool {
	b, err := os.ReadFile(s.stampFile(out))
	if err != nil {
		return false
	}
	want, ok := stampOf(out, key)
	return ok && string(b) == want
}

func stampOf(out, key string) (string, bool) {
	fi, err := os.Lstat(out)
	if err != nil || !fi.Mode().IsRegular() {
		return "", false
	}
	sig, _, ok := statcache.Signature(fi)
	if !ok {
		return "", false
	}
	return "key " + key + "\nbinary " + sig + "\n", true
}

// forget removes out's stamp before it is rebuilt, so a failed or
// interrupted build never leaves a stamp that vouches for a stale binary.
func (s *shortcut) forget(out string) {
	os.Remove(s.stampFile(out))
}

// record writes stamps for the binaries just built, by key, unless the
// tree changed during the builds or changed too recently to be trusted.
func (s *shortcut) record(built map[string]string) error {
	if s.racy || len(built) == 0 {
		return nil
	}
	tree, racy, err := s.walk()
	if err != nil || racy || tree != s.tree {
		return nil
	}
	for out, key := range built {
		stamp, ok := stampOf(out, key)
		if !ok {
			continue
		}
		if err := atomicfile.Write(s.stampFile(out), []byte(stamp)); err != nil {
			return fmt.Errorf("compile stamp of %s: %w", out, err)
		}
	}
	return nil
}
