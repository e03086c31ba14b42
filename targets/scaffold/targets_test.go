package scaffold

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantrybuild/gantry/templates"
)

func TestTargetsStaleAndRefresh(t *testing.T) {
	current := templates.Targets()
	older := bytes.Replace(current, []byte("\nfunc Release("), []byte("\nfunc OldRelease("), 1)
	if bytes.Equal(older, current) {
		t.Fatal("the template has no Release target to rename")
	}
	for _, tc := range []struct {
		name      string
		buildMod  bool   // magefiles/go.mod exists
		content   []byte // nil: no gantry.go
		stale     bool
		refreshOK bool // RefreshTargets succeeds (and leaves this version's targets)
		changed   bool
	}{
		{"this version's", true, current, false, true, false},
		{"this version's with CRLF line endings", true, bytes.ReplaceAll(current, []byte("\n"), []byte("\r\n")), false, true, true},
		{"another version's", true, older, true, true, true},
		{"none", true, nil, false, true, true},
		{"the user's own file", true, []byte("//go:build mage\n\npackage main\n\nfunc Release() {}\n"), false, false, false},
		{"no build module", false, older, true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "magefiles"), 0o755); err != nil {
				t.Fatal(err)
			}
			if tc.buildMod {
				os.WriteFile(filepath.Join(dir, "magefiles", "go.mod"), []byte("module example.com/app/magefiles\n"), 0o644)
			}
			p := filepath.Join(dir, filepath.FromSlash(TargetsPath))
			if tc.content != nil {
				os.WriteFile(p, tc.content, 0o644)
			}
			if got := TargetsStale(dir); got != tc.stale {
				t.Errorf("TargetsStale = %v, want %v", got, tc.stale)
			}
			changed, err := RefreshTargets(dir)
			if (err == nil) != tc.refreshOK {
				t.Fatalf("RefreshTargets error = %v, want success %v", err, tc.refreshOK)
			}
			if changed != tc.changed {
				t.Errorf("RefreshTargets changed = %v, want %v", changed, tc.changed)
			}
			got, _ := os.ReadFile(p)
			switch {
			case tc.refreshOK && !bytes.Equal(got, current):
				t.Errorf("after RefreshTargets the file is not this version's targets")
			case !tc.refreshOK && !bytes.Equal(got, tc.content):
				t.Errorf("a refused RefreshTargets changed the file")
			}
			if err != nil && !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q does not name the directory", err)
			}
		})
	}
}
