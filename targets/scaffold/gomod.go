package scaffold

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/mod/modfile"
)

// editGoMod adds the mage tool directive and requires the kit (with a
// replace directive to a local clone when k.Dir is set). The version of mage
// itself comes from the kit's requirements when go mod tidy runs.
func editGoMod(path string, mf *modfile.File, k Kit) error {
	if !slices.ContainsFunc(mf.Tool, func(t *modfile.Tool) bool { return t.Path == mageModule }) {
		if err := mf.AddTool(mageModule); err != nil {
			return err
		}
	}
	if err := mf.AddRequire(KitModule, k.Version); err != nil {
		return err
	}
	if k.Dir != "" {
		if err := mf.AddReplace(KitModule, "", k.Dir, ""); err != nil {
			return err
		}
	} else if err := mf.DropReplace(KitModule, ""); err != nil {
		return err
	}
	mf.Cleanup()
	out, err := mf.Format()
	if err != nil {
		return fmt.Errorf("formatting %s: %w", path, err)
	}
	return os.WriteFile(path, out, 0o644)
}

// mergeGoSum adds the clone's go.sum lines to the consumer's, so that the
// kit's dependencies verify without asking the checksum database (and go mod
// tidy works offline when the module cache has them).
func mergeGoSum(dir, kitDir string) error {
	kit, err := os.ReadFile(filepath.Join(kitDir, "go.sum"))
	if err != nil {
		return fmt.Errorf("reading the kit's go.sum: %w", err)
	}
	p := filepath.Join(dir, "go.sum")
	have, err := os.ReadFile(p)
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
	sc := bufio.NewScanner(bytes.NewReader(kit))
	for sc.Scan() {
		if l := sc.Text(); l != "" && !seen[l] {
			seen[l] = true
			out = append(out, l...)
			out = append(out, '\n')
		}
	}
	return os.WriteFile(p, out, 0o644)
}
