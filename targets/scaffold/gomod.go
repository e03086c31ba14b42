package scaffold

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
