package gitinfo

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gantrybuild/gantry/targets/internal/ocitest"
)

// TestQuickStatusOddFiles: untracked files git lists no such entry for (a
// FIFO, a socket, a directory that may not be listed) leave quickStatus as
// git's own status; a directory that may be listed but not entered is
// reported by its files, as git does. None makes it step aside (go-git's
// Status fails on the unreadable ones and opens FIFOs). As root, it runs
// in a child that obeys file permissions.
func TestQuickStatusOddFiles(t *testing.T) {
	if ocitest.ObeyPermissionsElsewhere(t) {
		return
	}
	gitBin := ocitest.NeedTool(t, "git")
	for _, tc := range []struct {
		name string
		add  func(t *testing.T, dir string)
	}{
		{"FIFO", func(t *testing.T, dir string) {
			if err := syscall.Mkfifo(filepath.Join(dir, "dir", "pipe"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"unix socket", func(t *testing.T, dir string) {
			l, err := net.Listen("unix", filepath.Join(dir, "dev.sock"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
		}},
		{"directory that may not be listed", func(t *testing.T, dir string) { lockDir(t, filepath.Join(dir, "private"), 0) }},
		{"directory that may not be listed, in a tracked one", func(t *testing.T, dir string) { lockDir(t, filepath.Join(dir, "dir", "private"), 0o300) }},
		{"directory that may be listed, not entered", func(t *testing.T, dir string) { lockDir(t, filepath.Join(dir, "listonly"), 0o600) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := statusRepo(t)
			tc.add(t, r.dir)
			repo, wt := r.repo, r.wt
			exclude := ignorePatterns(wt.Filesystem.Root(), []string{filepath.Join(r.dir, "dist")})
			st, err := quickStatus(repo, wt.Filesystem.Root(), exclude)
			if err != nil {
				t.Fatalf("quickStatus: %v", err)
			}
			var got []string
			for p, s := range st {
				if s.x != ' ' || s.y != ' ' {
					got = append(got, string([]byte{s.x, s.y})+" "+p)
				}
			}
			sort.Strings(got)
			cmd := exec.Command(gitBin, "status", "--porcelain=v1", "-uall")
			cmd.Dir = r.dir
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("git status: %v", err)
			}
			var want []string
			for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
				if l != "" {
					want = append(want, l)
				}
			}
			sort.Strings(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("quickStatus differs from git status (-git +quick):\n%s", diff)
			}
		})
	}
}

// lockDir creates dir holding a file, then sets its mode.
func lockDir(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
}
