package compile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gantrybuild/gantry/targets/internal/shared"
	"github.com/gantrybuild/gantry/targets/platform"
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

// buildBatch builds the binaries of batch (indices into specs, all of one
// group) with one go build into their staging directory and links each to
// its output name. It is skipped when the shortcut vouches for every one.
func buildBatch(ctx context.Context, reqs []Request, specs []spec, batch []int, pkgs []string, stage string, logs []io.Writer) (built bool, err error) {
	first := specs[batch[0]]
	req := reqs[first.req]
	plat := platform.String(first.plat)
	if first.sc != nil {
		fresh := true
		for _, i := range batch {
			fresh = fresh && first.sc.upToDate(specs[i].out, specs[i].key)
		}
		if fresh {
			for j, i := range batch {
				fmt.Fprintf(logs[specs[i].req], "compile: %s for %s -> %s (up to date: no input changed since it was built)\n", pkgs[j], plat, shared.RelPath(specs[i].out))
			}
			return false, nil
		}
		for _, i := range batch {
			first.sc.forget(specs[i].out)
		}
	}
	start := time.Now()
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return false, fmt.Errorf("compiling %s for %s: creating staging directory: %w", strings.Join(pkgs, ", "), plat, err)
	}
	args := append(slices.Clip(first.flags), "-o", stage+string(filepath.Separator))
	args = append(args, pkgs...)
	err = runGo(ctx, req, args, first.env)
	for _, i := range batch {
		if err == nil {
			err = publish(filepath.Join(stage, specs[i].exe), specs[i].out)
		}
	}
	together := strings.Join(pkgs, ", ")
	if err != nil {
		for _, i := range batch {
			fmt.Fprintf(logs[specs[i].req], "compile: %s for %s failed after %s\n", together, plat, since(start))
		}
		return false, fmt.Errorf("compiling %s for %s: %w", together, plat, err)
	}
	for j, i := range batch {
		fmt.Fprintf(logs[specs[i].req], "compile: %s for %s -> %s (%s, one go build for %s)\n", pkgs[j], plat, shared.RelPath(specs[i].out), since(start), together)
	}
	return true, nil
}

// publish makes out the file staged: a hard link, so that the staged file
// stays where go build looks for it next time, or a copy where the file
// system has no hard links. It replaces out atomically and leaves it alone
// when it is already the staged file.
func publish(staged, out string) error {
	sfi, err := os.Stat(staged)
	if err != nil {
		return fmt.Errorf("go build did not write %s: %w", staged, err)
	}
	if ofi, err := os.Lstat(out); err == nil && os.SameFile(sfi, ofi) {
		return nil
	}
	tmp := out + ".tmp-link"
	os.Remove(tmp)
	if err := os.Link(staged, tmp); err != nil {
		if err := copyFile(staged, tmp, sfi.Mode()); err != nil {
			return fmt.Errorf("copying %s to %s: %w", staged, out, err)
		}
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("linking %s to %s: %w", staged, out, err)
	}
	return nil
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode.Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}
