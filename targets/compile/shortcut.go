package compile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
//     go.mod's local replace directives (except .git and the directories in
//     Request.Exclude), by path and stat signature (device, inode, size,
//     mode, mtime, ctime: any write changes the ctime, which no program can
//     set back), so an edit, a new or removed file, a checkout or a
//     `go mod vendor` all count;
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
// It stays off (go build always runs) where those inputs are not the whole
// story: a go.work workspace, a development toolchain, -overlay or
// -toolexec in GOFLAGS, a symlinked directory in the tree, a platform
// without ctime, or more than maxInputFiles files. A signature is recorded
// only when nothing changed during the build and no file changed within
// statcache.RacyWindow before it (a second write in the same clock tick
// would leave the signature as it was).
type shortcut struct {
	dir      string   // where stamps are kept
	roots    []string // module dir and local replacements
	exclude  []string // absolute directories not walked
	base     string   // hash of the toolchain and go settings
	tree     string   // hash of the file signatures, before the builds
	racy     bool     // a file changed too recently to trust its signature
	walkedAt time.Time
}

// maxInputFiles bounds the walk: a tree this large is better left to go
// build's own check.
const maxInputFiles = 200_000

var errNoShortcut = errors.New("shortcut not applicable")

// racyWindow is statcache.RacyWindow; tests shorten it.
var racyWindow = statcache.RacyWindow

// newShortcut returns nil when the shortcut is off for req (see shortcut).
func newShortcut(req Request, vars goenv.Vars) *shortcut {
	if req.StampDir == "" || !strings.HasPrefix(vars.GOVERSION, "go1.") || strings.Contains(vars.GOVERSION, "devel") {
		return nil
	}
	if vars.GOWORK != "" && vars.GOWORK != "off" {
		return nil
	}
	flags := vars.GOFLAGS + " " + lookup(req.Env, "GOFLAGS")
	if strings.Contains(flags, "-overlay") || strings.Contains(flags, "-toolexec") {
		return nil
	}
	roots, err := inputRoots(req.Dir)
	if err != nil {
		return nil
	}
	h := sha256.New()
	fmt.Fprintf(h, "gantry compile shortcut 1\n")
	for _, k := range slices.Sorted(maps.Keys(vars.Build)) {
		fmt.Fprintf(h, "go env %s=%q\n", k, vars.Build[k])
	}
	for _, tool := range []string{"compile", "link", "asm"} {
		fi, err := os.Stat(filepath.Join(vars.GOTOOLDIR, tool))
		if err != nil {
			return nil
		}
		sig, _, ok := statcache.Signature(fi)
		if !ok {
			return nil
		}
		fmt.Fprintf(h, "tool %s %s\n", tool, sig)
	}
	exclude := []string{absOrEmpty(req.StampDir), req.OutDir}
	for _, e := range req.Exclude {
		exclude = append(exclude, absOrEmpty(e))
	}
	s := &shortcut{dir: req.StampDir, roots: roots, exclude: exclude, base: hex.EncodeToString(h.Sum(nil))}
	if s.tree, s.racy, err = s.walk(); err != nil {
		return nil
	}
	return s
}

func absOrEmpty(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return ""
	}
	return a
}

// inputRoots is the module directory and the directories of go.mod's
// local replacements, absolute.
func inputRoots(dir string) ([]string, error) {
	gomod := filepath.Join(dir, "go.mod")
	data, err := os.ReadFile(gomod)
	if err != nil {
		return nil, err // not a module root: the walk would miss go.mod
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

// walk hashes the path and signature of every file under the roots.
func (s *shortcut) walk() (sum string, racy bool, err error) {
	s.walkedAt = time.Now()
	h := sha256.New()
	n := 0
	for _, root := range s.roots {
		fmt.Fprintf(h, "root %s\n", root)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == ".git" || slices.Contains(s.exclude, p) {
					return filepath.SkipDir
				}
				return nil
			}
			if n++; n > maxInputFiles {
				return errNoShortcut
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if fi.Mode()&fs.ModeSymlink != 0 {
				// go build reads through a symlinked file; a symlinked
				// directory is more than this walk follows.
				if fi, err = os.Stat(p); err != nil || fi.IsDir() {
					return errNoShortcut
				}
			}
			sig, changed, ok := statcache.Signature(fi)
			if !ok {
				return errNoShortcut
			}
			if !changed.Before(s.walkedAt.Add(-racyWindow)) {
				racy = true
			}
			fmt.Fprintf(h, "%q %s\n", p, sig)
			return nil
		})
		if err != nil {
			return "", false, err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), racy, nil
}

// key identifies one platform's build: the tree, the toolchain and
// settings, the command line and the GO*/CGO_* environment.
func (s *shortcut) key(args, env []string) string {
	h := sha256.New()
	fmt.Fprintf(h, "base %s\ntree %s\n", s.base, s.tree)
	for _, a := range args {
		fmt.Fprintf(h, "arg %q\n", a)
	}
	var vars []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "GO") || strings.HasPrefix(kv, "CGO_") {
			vars = append(vars, kv)
		}
	}
	slices.Sort(vars)
	for _, kv := range vars {
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
