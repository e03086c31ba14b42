package scaffold

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// KitGoModPath is the build module's go.mod, relative to the repository:
// Gantry and its dependencies are required there, never in the
// application's go.mod (mage compiles the magefiles with magefiles/ as its
// working directory, so the go command uses this module for them).
const KitGoModPath = "magefiles/go.mod"

// kitGoMod renders magefiles/go.mod before go mod tidy completes it: the
// module <app>/magefiles, the given go line, the kit's requirement (with a
// replace to a local clone for development) and the mage tool directive,
// which lets a vendored application run `go -C magefiles tool mage`.
func kitGoMod(appModule, goVersion string, k Kit) ([]byte, error) {
	mf := new(modfile.File)
	if err := mf.AddModuleStmt(appModule + "/magefiles"); err != nil {
		return nil, err
	}
	if err := mf.AddGoStmt(goVersion); err != nil {
		return nil, err
	}
	if err := mf.AddRequire(KitModule, k.Version); err != nil {
		return nil, err
	}
	if err := mf.AddTool(mageModule); err != nil {
		return nil, err
	}
	if k.Dir != "" {
		if err := mf.AddReplace(KitModule, "", k.Dir, ""); err != nil {
			return nil, err
		}
	}
	mf.Cleanup()
	return mf.Format()
}

// maxGo returns the higher of two go lines ("1.24.0", "1.26"); an empty one
// loses.
func maxGo(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" || semver.Compare("v"+a, "v"+b) >= 0 {
		return a
	}
	return b
}

// majorMinor is "1.24" for "1.24.0" (what CI images and setup-go are named
// by).
func majorMinor(goVersion string) string {
	parts := strings.SplitN(goVersion, ".", 3)
	if len(parts) >= 2 {
		return parts[0] + "." + parts[1]
	}
	return goVersion
}

// goLine reads the go line of a go.mod file ("" when it has none).
func goLine(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	mf, err := modfile.ParseLax(path, raw, nil)
	if err != nil {
		return "", err
	}
	if mf.Go == nil {
		return "", nil
	}
	return mf.Go.Version, nil
}

// appendSum adds lines to the go.sum at path that it lacks, keeping every
// line it has.
func appendSum(path string, lines []string) error {
	have, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	seen := map[string]bool{}
	for _, l := range bytes.Split(have, []byte("\n")) {
		seen[string(l)] = true
	}
	out := bytes.Clone(have)
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n")) {
		out = append(out, '\n')
	}
	added := false
	for _, l := range lines {
		if l != "" && !seen[l] {
			seen[l] = true
			out = append(out, l...)
			out = append(out, '\n')
			added = true
		}
	}
	if !added {
		return nil
	}
	return os.WriteFile(path, out, 0o644)
}

// mergeGoSum adds the kit clone's go.sum lines to the build module's, so
// that the kit's dependencies verify without asking the checksum database
// (and go mod tidy works offline when the module cache has them).
func mergeGoSum(dst, kitDir string) error {
	kit, err := os.ReadFile(filepath.Join(kitDir, "go.sum"))
	if err != nil {
		return fmt.Errorf("reading the kit's go.sum: %w", err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(kit))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return appendSum(dst, lines)
}

// checkVersion refuses a version go.mod cannot require.
func checkVersion(v string) error {
	if err := module.Check(KitModule, v); err != nil {
		return fmt.Errorf("cannot require %s@%s: %w", KitModule, v, err)
	}
	return nil
}

// rootToolOK tells whether the application's go.mod can take mage's tool
// directive, and if not, why (for init's report).
func rootToolOK(mf *modfile.File, vendored bool) (bool, string) {
	for _, t := range mf.Tool {
		if t.Path == mageModule {
			return true, ""
		}
	}
	switch {
	case vendored:
		return false, "a tool directive in go.mod would have to be vendored, and vendor/ stays as it is"
	case mf.Go == nil || semver.Compare("v"+mf.Go.Version, "v1.24") < 0:
		return false, "go.mod's go line predates Go 1.24, which introduced tool directives, and init does not raise it"
	}
	return true, ""
}

// addMageTool adds mage's tool directive to the application's go.mod at
// dir, at the version the build module resolved, and checks that nothing
// else of go.mod changed (mage's module requires nothing, so nothing may):
// otherwise it puts go.mod and go.sum back and says why.
func addMageTool(ctx context.Context, dir string, env []string) error {
	gomod, gosum := filepath.Join(dir, "go.mod"), filepath.Join(dir, "go.sum")
	before, err := os.ReadFile(gomod)
	if err != nil {
		return err
	}
	sumBefore, sumErr := os.ReadFile(gosum)
	restore := func() {
		os.WriteFile(gomod, before, 0o644)
		if sumErr == nil {
			os.WriteFile(gosum, sumBefore, 0o644)
		} else {
			os.Remove(gosum)
		}
	}
	list := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Version}}", mageModule)
	list.Dir, list.Env = filepath.Join(dir, "magefiles"), env
	out, err := list.Output()
	if err != nil {
		return fmt.Errorf("finding mage's version in magefiles/go.mod: %w", err)
	}
	version := strings.TrimSpace(string(out))
	get := exec.CommandContext(ctx, "go", "get", "-tool", mageModule+"@"+version)
	get.Dir, get.Env = dir, append(append([]string{}, envOrOS(env)...), "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := get.CombinedOutput(); err != nil {
		restore()
		return fmt.Errorf("go get -tool %s@%s failed (%v: %s), so go.mod was left as it was", mageModule, version, err, strings.TrimSpace(string(out)))
	}
	after, err := os.ReadFile(gomod)
	if err != nil {
		restore()
		return err
	}
	diff := buildListChange(before, after)
	if diff == "" {
		sumAfter, _ := os.ReadFile(gosum)
		diff = sumChange(sumBefore, sumAfter)
	}
	if diff != "" {
		restore()
		return fmt.Errorf("adding mage's tool directive would also change %s, so go.mod was left as it was", diff)
	}
	return nil
}

// sumChange names the go.sum lines added or removed besides mage's own
// ("" when there are none): init says go.sum gained mage's checksums only.
func sumChange(before, after []byte) string {
	count := func(b []byte) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, mageModule+" ") {
				m[l]++
			}
		}
		return m
	}
	b, a := count(before), count(after)
	var changed []string
	for l, n := range a {
		if b[l] != n {
			changed = append(changed, strings.Fields(l)[0])
		}
	}
	for l, n := range b {
		if a[l] != n {
			changed = append(changed, strings.Fields(l)[0])
		}
	}
	if len(changed) == 0 {
		return ""
	}
	sort.Strings(changed)
	return "go.sum (" + strings.Join(slices.Compact(changed), ", ") + ")"
}

// buildListChange names what differs between two go.mod files besides
// mage's requirement and tool directive ("" when nothing does).
func buildListChange(before, after []byte) string {
	b, err1 := modfile.Parse("go.mod", before, nil)
	a, err2 := modfile.Parse("go.mod", after, nil)
	if err1 != nil || err2 != nil {
		return "go.mod (it does not parse)"
	}
	goLine := func(f *modfile.File) string {
		if f.Go == nil {
			return ""
		}
		return f.Go.Version
	}
	if goLine(a) != goLine(b) {
		return fmt.Sprintf("the go line (%s to %s)", goLine(b), goLine(a))
	}
	tc := func(f *modfile.File) string {
		if f.Toolchain == nil {
			return ""
		}
		return f.Toolchain.Name
	}
	if tc(a) != tc(b) {
		return "the toolchain line"
	}
	reqs := func(f *modfile.File) map[string]string {
		m := map[string]string{}
		for _, r := range f.Require {
			if r.Mod.Path != mageModule {
				m[r.Mod.Path] = r.Mod.Version
			}
		}
		return m
	}
	rb, ra := reqs(b), reqs(a)
	var changed []string
	for p, v := range ra {
		if rb[p] != v {
			changed = append(changed, p+" "+rb[p]+" => "+v)
		}
	}
	for p := range rb {
		if _, ok := ra[p]; !ok {
			changed = append(changed, p+" dropped")
		}
	}
	if len(changed) > 0 {
		sort.Strings(changed)
		return "requirements (" + strings.Join(changed, ", ") + ")"
	}
	return ""
}

func envOrOS(env []string) []string {
	if env == nil {
		return os.Environ()
	}
	return env
}
