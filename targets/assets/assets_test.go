package assets

import (
	"archive/tar"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tree writes files (content "x"; a "->target" value makes a symlink; a
// name ending in * an executable) under a new directory.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		mode := fs.FileMode(0o644)
		if name[len(name)-1] == '*' {
			name, mode = name[:len(name)-1], 0o755
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if len(content) > 2 && content[:2] == "->" {
			if err := os.Symlink(content[2:], p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestResolve(t *testing.T) {
	dir := tree(t, map[string]string{
		"web/index.html":    "<h1>",
		"web/css/site.css":  "body{}",
		"web/home.html":     "->index.html",
		"web/up.html":       "->css/../index.html",
		"bin/run.sh*":       "#!/bin/sh",
		"sql/001_init.sql":  "create",
		"sql/002_users.sql": "alter",
		"sql/README":        "read me",
		"conf/app.yaml":     "a: 1",
		"link-to-conf":      "->conf",
	})
	tests := []struct {
		name  string
		specs []Spec
		want  []string // path type mode link
	}{
		{"directory contents", []Spec{{Field: "F0", Src: "web", Dst: "/srv/web"}}, []string{
			"/srv 5 755 ", "/srv/web 5 755 ", "/srv/web/css 5 755 ", "/srv/web/css/site.css 0 644 ",
			"/srv/web/home.html 2 777 index.html", "/srv/web/index.html 0 644 ", "/srv/web/up.html 2 777 css/../index.html",
		}},
		{"file to a path", []Spec{{Field: "F0", Src: "conf/app.yaml", Dst: "/etc/app/config.yaml"}}, []string{
			"/etc 5 755 ", "/etc/app 5 755 ", "/etc/app/config.yaml 0 644 ",
		}},
		{"file into a directory, executable kept", []Spec{{Field: "F0", Src: "bin/run.sh", Dst: "/usr/bin/"}}, []string{
			"/usr 5 755 ", "/usr/bin 5 755 ", "/usr/bin/run.sh 0 755 ",
		}},
		{"mode set", []Spec{{Field: "F0", Src: "conf/app.yaml", Dst: "/etc/", Mode: 0o600}}, []string{
			"/etc 5 755 ", "/etc/app.yaml 0 600 ",
		}},
		{"glob", []Spec{{Field: "F0", Src: "sql/*.sql", Dst: "/migrations"}}, []string{
			"/migrations 5 755 ", "/migrations/001_init.sql 0 644 ", "/migrations/002_users.sql 0 644 ",
		}},
		{"a named symlink is read through", []Spec{{Field: "F0", Src: "link-to-conf", Dst: "/etc/conf"}}, []string{
			"/etc 5 755 ", "/etc/conf 5 755 ", "/etc/conf/app.yaml 0 644 ",
		}},
		{"the same file twice", []Spec{{Field: "F0", Src: "conf/app.yaml", Dst: "/etc/"}, {Field: "F1", Src: "conf", Dst: "/etc"}}, []string{
			"/etc 5 755 ", "/etc/app.yaml 0 644 ",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			entries, err := Resolve(dir, tc.specs, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, fmt.Sprintf("%s %c %o %s", e.Path, e.Type, e.Mode, e.Link))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveRefuses(t *testing.T) {
	dir := tree(t, map[string]string{
		"web/index.html": "<h1>",
		"web/passwd":     "->/etc/passwd",
		"web/zz-parent":  "->../secret",
		"secret":         "s",
		"out":            "->/etc",
	})
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"absolute link", Spec{Field: "F0", Src: "web", Dst: "/srv"}, `symlink ` + filepath.Join(dir, "web/passwd") + ` points to the absolute path /etc/passwd`},
		{"named source out of the module", Spec{Field: "F0", Src: "out", Dst: "/x"}, `points outside the module`},
		{"absolute source", Spec{Field: "F0", Src: "/etc/passwd", Dst: "/x"}, `F0.Src "/etc/passwd" is absolute`},
		{"mode with type bits", Spec{Field: "F0", Src: "secret", Dst: "/x", Mode: fs.ModeDir | 0o755}, `F0.Mode`},
		{"empty destination", Spec{Field: "F0", Src: "secret"}, `F0.Dst "" is empty`},
		{"double slash", Spec{Field: "F0", Src: "secret", Dst: "/a//b"}, `has an empty element`},
		{"bad glob", Spec{Field: "F0", Src: "web/[", Dst: "/x/"}, `is not a valid glob`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Resolve(dir, []Spec{tc.spec}, Options{})
			if err == nil || !contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one with %q", err, tc.want)
			}
		})
	}
	// The escaping link, once the absolute one is gone.
	os.Remove(filepath.Join(dir, "web/passwd"))
	if _, err := Resolve(dir, []Spec{{Field: "F0", Src: "web", Dst: "/srv"}}, Options{}); err == nil || !contains(err.Error(), "points outside the copied tree (../secret)") {
		t.Errorf("error %v, want the link out of the tree named", err)
	}
}

func TestSum(t *testing.T) {
	dir := tree(t, map[string]string{"a.txt": "hello\n"})
	entries, err := Resolve(dir, []Spec{{Field: "F0", Src: "a.txt", Dst: "/a.txt"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Sum(context.Background(), entries, filepath.Join(t.TempDir(), "stat.txt")); err != nil {
		t.Fatal(err)
	}
	want := "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03" // sha256 of "hello\n"
	if len(entries) != 1 || entries[0].Type != tar.TypeReg || entries[0].SHA256 != want {
		t.Errorf("entries %+v, want a.txt with sha256 %s", entries, want)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
