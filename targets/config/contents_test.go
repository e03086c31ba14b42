package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestContentsErrors(t *testing.T) {
	dir := app(t, "assets")
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), make([]byte, 2048), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../go.mod", filepath.Join(dir, "kodata", "static", "out.txt")); err != nil {
		t.Fatal(err)
	}
	img := func(f func(*Image)) Project {
		i := Image{KoData: "-"}
		f(&i)
		return Project{Images: []Image{i}}
	}
	tests := []struct {
		name string
		p    Project
		env  map[string]string
		want []string // substrings of the one-line error
	}{
		{"missing source", img(func(i *Image) { i.Files = []File{{Src: "web/static", Dst: "/srv/"}} }), nil,
			[]string{`Files[0].Src "web/static"`, "does not exist", "fix the path"}},
		{"glob matching nothing", img(func(i *Image) { i.Files = []File{{Src: "config/*.toml", Dst: "/etc/"}} }), nil,
			[]string{`Files[0].Src "config/*.toml" matches nothing`, "fix the pattern"}},
		{"source outside the module", img(func(i *Image) { i.Files = []File{{Src: "../x", Dst: "/x"}} }), nil,
			[]string{`Files[0].Src "../x" leaves the module`}},
		{"relative destination", img(func(i *Image) { i.Files = []File{{Src: "config/app.yaml", Dst: "etc/app.yaml"}} }), nil,
			[]string{`Files[0].Dst "etc/app.yaml" is not an absolute path`, "/etc/app.yaml"}},
		{"destination escaping /", img(func(i *Image) { i.Files = []File{{Src: "config/app.yaml", Dst: "/../etc/app.yaml"}} }), nil,
			[]string{`Files[0].Dst "/../etc/app.yaml" has a ".." element`}},
		{"file over the limit", img(func(i *Image) { i.Files = []File{{Src: "big.bin", Dst: "/data/"}}; i.MaxFileSize = 1024 }), nil,
			[]string{`Files[0].Src "big.bin"`, "2048 bytes, over the size limit of 1024 bytes", "raise the limit"}},
		{"file over the env limit", img(func(i *Image) { i.Files = []File{{Src: "big.bin", Dst: "/data/"}} }), map[string]string{"GANTRY_MAX_FILE_SIZE": "1KiB"},
			[]string{"over the size limit of 1024 bytes"}},
		{"bad env limit", Project{}, map[string]string{"GANTRY_MAX_FILE_SIZE": "1MB"},
			[]string{`GANTRY_MAX_FILE_SIZE="1MB" is not a size`, "50MiB"}},
		{"symlink out of the tree", Project{}, nil,
			[]string{`kodata.Src "kodata"`, "out.txt points outside the copied tree (../../go.mod)"}},
		{"env name", img(func(i *Image) { i.Env = map[string]string{"APP-MODE": "x"} }), nil,
			[]string{`Env key "APP-MODE" is not a valid environment variable name`}},
		{"env name with a digit first", img(func(i *Image) { i.Env = map[string]string{"1X": "x"} }), nil,
			[]string{`Env key "1X"`}},
		{"port form", img(func(i *Image) { i.Ports = []string{"http"} }), nil,
			[]string{`Ports entry "http" is not a port`, "8080 or 53/udp"}},
		{"port range", img(func(i *Image) { i.Ports = []string{"70000/tcp"} }), nil,
			[]string{`Ports entry "70000/tcp" is out of range`}},
		{"port protocol", img(func(i *Image) { i.Ports = []string{"53/icmp"} }), nil,
			[]string{`Ports entry "53/icmp" is not a port`}},
		{"signal", img(func(i *Image) { i.StopSignal = "SIGSTOPPLEASE" }), nil,
			[]string{`StopSignal "SIGSTOPPLEASE" is not a signal`, "SIGTERM"}},
		{"signal number", img(func(i *Image) { i.StopSignal = "99" }), nil,
			[]string{`StopSignal "99" is not a signal number`}},
		{"working dir", img(func(i *Image) { i.WorkingDir = "srv" }), nil,
			[]string{`WorkingDir "srv" is not an absolute path`}},
		{"two sources for one path", img(func(i *Image) {
			i.Files = []File{{Src: "config/app.yaml", Dst: "/etc/x"}, {Src: "main.go", Dst: "/etc/x"}}
		}), nil, []string{"Files[0] and Files[1] both put /etc/x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.p, MapEnv(tc.env), dir)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error has several lines: %q", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}

func TestContentsResolved(t *testing.T) {
	dir := app(t, "assets")
	c, err := Load(Project{Images: []Image{{
		Env:        map[string]string{"B": "2", "A": "1"},
		Ports:      []string{"8080", "53/UDP", "8080/tcp"},
		StopSignal: "int",
	}}}, nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	img := c.Images[0]
	if diff := cmp.Diff([]string{"8080/tcp", "53/udp"}, img.Ports); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
	if img.StopSignal != "SIGINT" {
		t.Errorf("stop signal %q, want SIGINT", img.StopSignal)
	}
	if img.KoData != DefaultKoData {
		t.Errorf("KoData %q, want %s (testdata/assets has kodata/)", img.KoData, DefaultKoData)
	}
	if diff := cmp.Diff([]string{"A=1", "B=2", "KO_DATA_PATH=/var/run/ko"}, img.EnvList(false)); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"A=1", "B=2", `KO_DATA_PATH=C:\var\run\ko`}, img.EnvList(true)); diff != "" {
		t.Errorf("windows env (-want +got):\n%s", diff)
	}
	img.Env["KO_DATA_PATH"] = "/data"
	if got := img.EnvList(false); got[len(got)-1] != "KO_DATA_PATH=/data" {
		t.Errorf("a configured KO_DATA_PATH is replaced: %q", got)
	}

	// No kodata/: nothing added, no KO_DATA_PATH.
	c, err = Load(Project{}, nil, app(t, "plain"))
	if err != nil {
		t.Fatal(err)
	}
	if img := c.Images[0]; img.KoData != "" || len(img.FileSpecs()) != 0 || len(img.EnvList(false)) != 0 {
		t.Errorf("plain: KoData %q, specs %v, env %v; want none", img.KoData, img.FileSpecs(), img.EnvList(false))
	}
}

// TestPrintContents: `mage config` shows what an image copies and sets.
func TestPrintContents(t *testing.T) {
	c, err := Load(Project{Images: []Image{{
		Files: []File{{Src: "config/app.yaml", Dst: "/etc/assets/"}},
		Env:   map[string]string{"APP_MODE": "production"}, Args: []string{"--serve"},
		WorkingDir: "/srv", Ports: []string{"8080"}, StopSignal: "SIGINT", MaxFileSize: 1 << 20,
	}}}, nil, app(t, "assets"))
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	if err := Print(&buf, c, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"files          kodata → /var/run/ko (kodata)", "config/app.yaml → /etc/assets/ (Files[0])",
		"APP_MODE=production KO_DATA_PATH=/var/run/ko", "args           --serve", "working dir    /srv",
		"ports          8080/tcp", "stop signal    SIGINT", "max file size  1048576 bytes",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("config output lacks %q:\n%s", want, buf.String())
		}
	}
}
