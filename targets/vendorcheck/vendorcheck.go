// Package vendorcheck checks a module's dependencies before a release: the
// module cache matches go.sum (`go mod verify`) and vendor/, when present, is
// exactly what `go mod vendor` would write from go.mod and go.sum.
package vendorcheck

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gantrybuild/gantry/targets/internal/goenv"
)

// Request is one module to check.
type Request struct {
	Dir           string   // module directory
	RequireVendor bool     // a module without vendor/ is an error
	GoBin         string   // "" means "go"
	Env           []string // nil means os.Environ()
	Log           io.Writer
	CacheDir      string // remembers passed checks (e.g. dist/cache); "" checks every time (see memo)
}

// Check runs `go mod verify` and, when vendor/ exists, compares it with a
// fresh `go mod vendor` into a temporary directory. With CacheDir, a check
// that passed is not run again while everything its outcome depends on is
// unchanged (see memo for what that covers, and what it does not).
func Check(ctx context.Context, req Request) error {
	if req.GoBin == "" {
		req.GoBin = "go"
	}
	if req.Log == nil {
		req.Log = io.Discard
	}
	vendorDir := filepath.Join(req.Dir, "vendor")
	_, err := os.Stat(filepath.Join(vendorDir, "modules.txt"))
	hasVendor := err == nil
	if !hasVendor && req.RequireVendor {
		return fmt.Errorf("%s has no vendor/ directory and vendoring is required: run `go mod vendor` there and commit vendor/", req.Dir)
	}
	vars, err := goenv.Read(ctx, req.GoBin, req.Dir, req.Env)
	if err != nil {
		return fmt.Errorf("go mod verify in %s: %w", req.Dir, err)
	}
	res, err := verifyModules(ctx, req, vars, modRecordFile(req))
	if err != nil {
		return fmt.Errorf("go mod verify in %s: %w: %s", req.Dir, err, verifyAdvice(err.Error()))
	}
	fmt.Fprintf(req.Log, "go mod verify: %s: all modules verified (%s)\n", req.Dir, res)
	if !hasVendor {
		return nil
	}
	m := openMemo(req, vars, hasVendor)
	defer m.save()
	if m != nil && m.off != "" {
		fmt.Fprintf(req.Log, "vendor/ is compared with a fresh go mod vendor on every release of %s (remembering a passed check is off: %s)\n", req.Dir, m.off)
	}
	if m.hit(checkVendor) {
		fmt.Fprintf(req.Log, "vendor/ matches go.mod and go.sum: %s (cached: go.mod, go.sum, imports, vendor/ and toolchain unchanged)\n", req.Dir)
		return nil
	}
	tmp, err := os.MkdirTemp("", "gantry-vendor-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fresh := filepath.Join(tmp, "vendor")
	if out, err := run(ctx, req, "mod", "vendor", "-o", fresh); err != nil {
		return fmt.Errorf("re-vendoring %s to compare with vendor/: %s", req.Dir, firstLines(out, err))
	}
	diffs, err := compareTrees(vendorDir, fresh)
	if err != nil {
		return err
	}
	if len(diffs) > 0 {
		what := describe(diffs, append(readModules(filepath.Join(fresh, "modules.txt")), readModules(filepath.Join(vendorDir, "modules.txt"))...))
		if changes := moduleChanges(moduleVersions(filepath.Join(vendorDir, "modules.txt")), moduleVersions(filepath.Join(fresh, "modules.txt"))); len(changes) > 0 {
			what += ": " + strings.Join(changes, "; ")
		}
		return fmt.Errorf("vendor/ in %s does not match go.mod and go.sum: %s; run `go mod vendor` in %s and commit the result", req.Dir, what, req.Dir)
	}
	m.pass(req, vars, hasVendor, checkVendor)
	fmt.Fprintf(req.Log, "vendor/ matches go.mod and go.sum: %s\n", req.Dir)
	return nil
}

func run(ctx context.Context, req Request, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, req.GoBin, args...)
	cmd.Dir = req.Dir
	cmd.Env = req.Env
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	// -mod=vendor in GOFLAGS would make `go mod vendor` refuse to run.
	cmd.Env = append(cmd.Env, "GOFLAGS=", "GOWORK=off")
	return cmd.CombinedOutput()
}

// verifyAdvice says what to do about a failed `go mod verify`, from its
// output: a go.mod or go.sum that is not in step is mended with go mod
// tidy; a module cache whose files changed since download, by clearing it.
func verifyAdvice(out string) string {
	switch {
	case strings.Contains(out, "missing go.sum entry"), strings.Contains(out, "updates to go.mod needed"),
		strings.Contains(out, "go: updates to go.sum needed"):
		return "go.mod and go.sum are not in step; run `go mod tidy` and commit both"
	case strings.Contains(out, "has been modified"):
		return "the module cache does not match go.sum (a file in it changed after download); run `go clean -modcache` and build again"
	case strings.Contains(out, "verifying") && strings.Contains(out, "checksum mismatch"):
		return "a download does not match go.sum: if go.sum was edited by hand, restore it; else the module proxy served other bytes, which is worth reporting"
	}
	return "the module cache does not match go.sum; run `go clean -modcache` and build again, or check go.sum"
}

func firstLines(out []byte, err error) string {
	s := strings.TrimSpace(string(out))
	if s == "" {
		return err.Error()
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 5 {
		lines = append(lines[:5], "…")
	}
	return strings.Join(lines, "; ")
}

// diff is one file that differs between vendor/ and a fresh vendoring.
type diff struct {
	path string // slash path relative to vendor/
	what string // "missing", "extra", "changed"
}

// compareTrees lists the regular files that differ between two trees.
func compareTrees(have, want string) ([]diff, error) {
	a, err := listFiles(have)
	if err != nil {
		return nil, err
	}
	b, err := listFiles(want)
	if err != nil {
		return nil, err
	}
	var out []diff
	for p := range b {
		if _, ok := a[p]; !ok {
			out = append(out, diff{p, "missing"})
		}
	}
	for p := range a {
		if _, ok := b[p]; !ok {
			out = append(out, diff{p, "extra"})
			continue
		}
		x, err := os.ReadFile(filepath.Join(have, p))
		if err != nil {
			return nil, err
		}
		y, err := os.ReadFile(filepath.Join(want, p))
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(x, y) {
			out = append(out, diff{p, "changed"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

func listFiles(root string) (map[string]bool, error) {
	files := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			files[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	return files, err
}

// readModules returns the module paths listed in a vendor/modules.txt.
func readModules(path string) []string {
	data, _ := os.ReadFile(path)
	var mods []string
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "#" {
			mods = append(mods, f[1])
		}
	}
	return mods
}

// moduleVersions maps each module a vendor/modules.txt lists to its
// version (and replacement, as modules.txt writes it: "v1.0.0 => ./a").
func moduleVersions(path string) map[string]string {
	data, _ := os.ReadFile(path)
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "#" {
			out[f[1]] = strings.Join(f[2:], " ")
		}
	}
	return out
}

// moduleChanges says, module by module in path order, how the vendored
// versions (have) differ from what go.mod requires (want).
func moduleChanges(have, want map[string]string) []string {
	var out []string
	for _, m := range slices.Sorted(maps.Keys(want)) {
		h, ok := have[m]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s %s is required but not vendored", m, want[m]))
		case h != want[m]:
			out = append(out, fmt.Sprintf("%s is vendored at %s, go.mod requires %s", m, h, want[m]))
		}
	}
	for _, m := range slices.Sorted(maps.Keys(have)) {
		if _, ok := want[m]; !ok {
			out = append(out, fmt.Sprintf("%s %s is vendored but no longer required", m, have[m]))
		}
	}
	return out
}

// describe names the modules the differing files belong to.
func describe(diffs []diff, modules []string) string {
	byModule := map[string][]string{}
	var order []string
	for _, d := range diffs {
		mod := moduleOf(d.path, modules)
		if _, ok := byModule[mod]; !ok {
			order = append(order, mod)
		}
		byModule[mod] = append(byModule[mod], d.what+" "+d.path)
	}
	var parts []string
	for _, m := range order {
		files := byModule[m]
		if len(files) > 3 {
			files = append(files[:3], fmt.Sprintf("and %d more", len(files)-3))
		}
		label := "module " + m
		if m == "" {
			label = "vendor metadata"
		}
		parts = append(parts, fmt.Sprintf("%s differs (%s)", label, strings.Join(files, ", ")))
	}
	return strings.Join(parts, "; ")
}

// moduleOf returns the longest module path that prefixes p.
func moduleOf(p string, modules []string) string {
	best := ""
	for _, m := range modules {
		if (p == m || strings.HasPrefix(p, m+"/")) && len(m) > len(best) {
			best = m
		}
	}
	return best
}
