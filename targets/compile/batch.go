package compile

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Batching: `go build -o dir/ ./cmd/a ./cmd/b` loads the module's packages
// and starts the toolchain once for all of them, where one go build per
// image pays that cost again for every image. It names each binary after
// its package, so a batch builds into a staging directory under OutDir
// (.batch/<id>/, kept between runs so that go build finds its earlier
// outputs and skips the link of an unchanged binary) and each binary is
// then hard-linked to its own name.

// unit is one binary of one request for one platform.
type unit struct {
	req   int    // index of its request
	group string // units of the same group may share one go build
	pkg   string // the package, as given
	exe   string // the file go build -o dir/ writes for pkg; "" means it cannot share
}

// plan splits units into the go builds that make them: units of one group
// share a build unless two would build the same package or write the same
// file name; a unit without an exe name builds alone. Batches come in the
// order of their first unit, units in their own order.
func plan(units []unit) [][]int {
	var batches [][]int
	open := map[string][]int{} // group -> indices into batches
	for i, u := range units {
		if u.exe == "" {
			batches = append(batches, []int{i})
			continue
		}
		placed := false
		for _, b := range open[u.group] {
			if fits(units, batches[b], u) {
				batches[b] = append(batches[b], i)
				placed = true
				break
			}
		}
		if !placed {
			open[u.group] = append(open[u.group], len(batches))
			batches = append(batches, []int{i})
		}
	}
	return batches
}

func fits(units []unit, batch []int, u unit) bool {
	for _, j := range batch {
		if units[j].pkg == u.pkg || units[j].exe == u.exe {
			return false
		}
	}
	return true
}

// execName is the file name `go build -o dir/` gives the binary of pkg
// (cmd/go's load.DefaultExecName, for linux targets): the last element of
// its import path, or the one before a major version suffix (example.com/
// tool/v2 -> tool). modPath is the module's path, for packages given
// relative to the module root. It returns "" where the name cannot be
// known without loading the package: a pattern, an absolute or escaping
// path, an unknown module path.
func execName(modPath, pkg string) string {
	if strings.Contains(pkg, "...") || filepath.IsAbs(pkg) || strings.Contains(pkg, `\`) {
		return ""
	}
	imp := pkg
	if pkg == "." || strings.HasPrefix(pkg, "./") || strings.HasPrefix(pkg, "../") || pkg == ".." {
		rel := path.Clean(pkg)
		if modPath == "" || rel == ".." || strings.HasPrefix(rel, "../") {
			return ""
		}
		imp = path.Join(modPath, rel)
	}
	dir, elem := path.Split(imp)
	if dir != "" && isVersionElement(elem) {
		_, elem = path.Split(strings.TrimSuffix(dir, "/"))
	}
	if elem == "" || elem == "." || elem == ".." {
		return ""
	}
	return elem
}

// isVersionElement reports whether s is a major version suffix such as v2
// (cmd/go's rule: v0 and v1 are not).
func isVersionElement(s string) bool {
	if len(s) < 2 || s[0] != 'v' || s[1] == '0' || s[1] == '1' && len(s) == 2 {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || '9' < s[i] {
			return false
		}
	}
	return true
}

// groupOf identifies what must be equal for units to share a go build:
// everything on the command line but the output and the package, the
// environment, the go command, the module directory and where outputs
// and stamps go.
func groupOf(req Request, flags, env []string) string {
	h := sha256.New()
	for _, s := range []string{req.Dir, req.GoBin, req.OutDir, req.StampDir} {
		h.Write([]byte(s + "\x00"))
	}
	h.Write([]byte(strings.Join(req.Exclude, "\x01") + "\x00"))
	h.Write([]byte(strings.Join(flags, "\x01") + "\x00"))
	h.Write([]byte(strings.Join(env, "\x01") + "\x00"))
	return hex.EncodeToString(h.Sum(nil))
}

// stageDir is the staging directory of a batch: the same for the same
// module, go command, flags, packages and go settings, so go build finds
// its earlier outputs there and skips the link of an unchanged binary. It
// keys on the GO* and CGO_* variables only (the ones the shortcut's key
// reads too): the rest of the environment (PWD, OLDPWD, a CI's run id)
// changes from shell to shell, and a new directory each time would relink
// every binary. The directory is only a hint: go build checks the build ID
// of what it finds there.
func stageDir(req Request, flags, env, pkgs []string) string {
	h := sha256.New()
	for _, s := range []string{req.Dir, req.GoBin} {
		h.Write([]byte(s + "\x00"))
	}
	h.Write([]byte(strings.Join(flags, "\x01") + "\x00"))
	h.Write([]byte(strings.Join(goVars(env), "\x01") + "\x00"))
	h.Write([]byte(strings.Join(pkgs, "\x01")))
	return filepath.Join(req.OutDir, ".batch", hex.EncodeToString(h.Sum(nil)[:8]))
}

// goVars are the GO* and CGO_* entries of env, sorted.
func goVars(env []string) []string {
	var vars []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "GO") || strings.HasPrefix(kv, "CGO_") {
			vars = append(vars, kv)
		}
	}
	slices.Sort(vars)
	return vars
}

// staleStage is how long a staging directory no build used stays.
const staleStage = 7 * 24 * time.Hour

// pruneStages marks the staging directories used now as used and removes
// the ones no build used for staleStage (another image selection, old go
// settings), so .batch does not grow without end.
func pruneStages(outDir string, used []string, now time.Time) {
	for _, d := range used {
		os.Chtimes(d, now, now)
	}
	root := filepath.Join(outDir, ".batch")
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && now.Sub(fi.ModTime()) > staleStage {
			os.RemoveAll(filepath.Join(root, e.Name()))
		}
	}
}
