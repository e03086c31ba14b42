package vendorcheck

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/gantrybuild/gantry/targets/internal/atomicfile"
	"github.com/gantrybuild/gantry/targets/internal/goenv"
	"github.com/gantrybuild/gantry/targets/internal/statcache"
)

// cacheFormat versions the keys: bump it when what a check depends on, or
// how it is hashed, changes.
const cacheFormat = 1

// checkVendor is the check a memo remembers.
const checkVendor = "vendor"

// memo remembers that vendor/ matched a fresh `go mod vendor`, under a key
// that hashes everything that outcome depends on: the toolchain, go.mod,
// go.sum, the header (package clause, build constraints, imports) of every
// Go file of the module, which decides what `go mod vendor` copies, and
// every file of vendor/. A go.mod that replaces a module with a directory
// turns this off: the directory's files would count too. (The module
// cache, which vendoring copies from, is checked on every run: see
// verifyModules.)
//
// Files are hashed through a stat cache (see statcache), so an unchanged
// vendor/ is not read again.
type memo struct {
	file   string            // where passed keys are kept
	stats  *statcache.Cache  // hashes of the module's files
	keys   map[string]string // check → key of the module as it is now ("" means do not cache)
	passed map[string]string // check → key under which it last passed
	off    string            // why the module has no key, when a file could not be read
}

// memoName names req's files in the cache directory.
func memoName(req Request) (string, error) {
	abs, err := filepath.Abs(req.Dir)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", sha256.Sum256([]byte(abs)))[:16], nil
}

// modRecordFile is where verifyModules keeps its record for req ("" when
// caching is off).
func modRecordFile(req Request) string {
	name, err := memoName(req)
	if req.CacheDir == "" || err != nil {
		return ""
	}
	return filepath.Join(req.CacheDir, "vendorcheck", name+".modules.json")
}

// openMemo returns the memo for req, or nil when caching is off or a key
// cannot be computed (the checks then run, and report what is wrong).
func openMemo(req Request, vars goenv.Vars, hasVendor bool) *memo {
	if req.CacheDir == "" || !hasVendor {
		return nil
	}
	gomod, err := os.ReadFile(filepath.Join(req.Dir, "go.mod"))
	if err != nil {
		return nil
	}
	gosum, err := os.ReadFile(filepath.Join(req.Dir, "go.sum"))
	if err != nil && !os.IsNotExist(err) {
		return nil
	}
	abs, err := filepath.Abs(req.Dir)
	if err != nil {
		return nil
	}
	name, _ := memoName(req)
	dir := filepath.Join(req.CacheDir, "vendorcheck")
	m := &memo{
		file:   filepath.Join(dir, name+".json"),
		stats:  statcache.Load(filepath.Join(dir, name+".stat.txt")),
		keys:   map[string]string{},
		passed: map[string]string{},
	}
	if b, err := os.ReadFile(m.file); err == nil {
		_ = json.Unmarshal(b, &m.passed) // a corrupt memo is an empty one
	}
	if replacesWithDir(gomod) {
		return m
	}
	// The two walks are mostly system calls: one on another goroutine.
	headers, tree := sha256.New(), sha256.New()
	var headersErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		headersErr = m.hashHeaders(headers, abs)
	}()
	treeErr := m.hashTree(tree, filepath.Join(abs, "vendor"))
	<-done
	if err := cmp.Or(headersErr, treeErr); err != nil {
		m.off = err.Error()
	} else {
		h := sha256.New()
		fmt.Fprintf(h, "gantry vendorcheck v%d %s\ntoolchain %s\n", cacheFormat, checkVendor, vars.Toolchain())
		fmt.Fprintf(h, "go.mod %x\ngo.sum %x\n", sha256.Sum256(gomod), sha256.Sum256(gosum))
		fmt.Fprintf(h, "headers %x\nvendor %x\n", headers.Sum(nil), tree.Sum(nil))
		m.keys[checkVendor] = hex.EncodeToString(h.Sum(nil))
	}
	return m
}

// hit reports whether check passed for the module as it is now.
func (m *memo) hit(check string) bool {
	return m != nil && m.keys[check] != "" && m.passed[check] == m.keys[check]
}

// pass records that check passed, when the module is still as it was when
// the memo was opened (a file changed during the check would otherwise be
// recorded as checked). Failing to record only costs a rerun.
func (m *memo) pass(req Request, vars goenv.Vars, hasVendor bool, check string) {
	if m == nil || m.keys[check] == "" {
		return
	}
	now := openMemo(req, vars, hasVendor)
	if now == nil || now.keys[check] != m.keys[check] {
		return
	}
	m.stats = now.stats // it has hashed what changed since
	m.passed[check] = m.keys[check]
	b, err := json.Marshal(m.passed)
	if err != nil {
		return
	}
	_ = atomicfile.Write(m.file, b)
}

// save keeps the stat cache for the next run.
func (m *memo) save() {
	if m != nil {
		_ = m.stats.Save()
	}
}

// replacesWithDir reports whether go.mod replaces a module with a directory
// (or cannot be parsed, which counts the same: do not cache).
func replacesWithDir(gomod []byte) bool {
	f, err := modfile.Parse("go.mod", gomod, nil)
	if err != nil {
		return true
	}
	for _, r := range f.Replace {
		if r.New.Version == "" {
			return true
		}
	}
	return false
}

// hashHeaders hashes the header of every Go file of the module at root: the
// packages `go mod vendor` considers, whatever their build tags, are in
// these directories, and only their imports and build constraints decide
// what it copies. Directories the go command ignores (testdata, _*, .*)
// and nested modules are skipped, as is vendor/ (hashed by hashTree).
func (m *memo) hashHeaders(h hash.Hash, root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p == root {
				return nil
			}
			if name == "testdata" || strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") ||
				filepath.Dir(p) == root && name == "vendor" {
				return filepath.SkipDir
			}
			if _, err := os.Lstat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || !d.Type().IsRegular() {
			return nil
		}
		v, err := m.stats.Value(p, "go-header-v1", goHeader)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fmt.Fprintf(h, "header %s %s\n", filepath.ToSlash(rel), v)
		return nil
	})
}

// goHeader hashes a Go file up to the end of its imports (all of it when it
// does not parse).
func goHeader(r io.Reader) (string, error) {
	src, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	end := len(src)
	fset := token.NewFileSet()
	if f, err := parser.ParseFile(fset, "", src, parser.ImportsOnly|parser.ParseComments); err == nil {
		end = fset.Position(f.Name.End()).Offset
		if n := len(f.Imports); n > 0 {
			end = max(end, fset.Position(f.Imports[n-1].End()).Offset)
		}
		for _, d := range f.Decls {
			end = max(end, fset.Position(d.End()).Offset)
		}
	}
	return fmt.Sprintf("%x", sha256.Sum256(src[:min(end, len(src))])), nil
}

// hashTree hashes the path and content of every regular file under root
// (the files compareTrees compares).
func (m *memo) hashTree(h hash.Hash, root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		sum, err := m.stats.Sum(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fmt.Fprintf(h, "file %s %s\n", filepath.ToSlash(rel), sum)
		return nil
	})
}
