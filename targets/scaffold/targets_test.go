package scaffold

import (
	"bytes"
	"context"
	"os"
	"os/exec"
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

func TestDefaultBranch(t *testing.T) {
	git := func(t *testing.T, dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.email=t@example.com", "-c", "user.name=t"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	ctx := context.Background()
	t.Run("no repository", func(t *testing.T) {
		if b, why := defaultBranch(ctx, t.TempDir(), nil); b != "main" || !strings.Contains(why, "no git branch") {
			t.Errorf("defaultBranch = %q (%s), want main", b, why)
		}
	})
	t.Run("the branch checked out", func(t *testing.T) {
		dir := t.TempDir()
		git(t, dir, "init", "-q", "-b", "trunk")
		if b, why := defaultBranch(ctx, dir, nil); b != "trunk" || !strings.Contains(why, "checked out") {
			t.Errorf("defaultBranch = %q (%s), want trunk", b, why)
		}
	})
	t.Run("origin's default branch, from a module in a subdirectory", func(t *testing.T) {
		origin := t.TempDir()
		git(t, origin, "init", "-q", "-b", "develop")
		git(t, origin, "commit", "-q", "--allow-empty", "-m", "first")
		clone := filepath.Join(t.TempDir(), "clone")
		git(t, filepath.Dir(clone), "clone", "-q", origin, clone)
		git(t, clone, "checkout", "-q", "-b", "feature")
		sub := filepath.Join(clone, "svc")
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if b, why := defaultBranch(ctx, sub, nil); b != "develop" || !strings.Contains(why, "origin's default") {
			t.Errorf("defaultBranch = %q (%s), want develop", b, why)
		}
	})
}
