package compile

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name  string
		units []unit
		want  [][]int
	}{
		{"none", nil, nil},
		{"one", []unit{{group: "g", pkg: ".", exe: "app"}}, [][]int{{0}}},
		{
			"same group shares one build",
			[]unit{{group: "g", pkg: "./cmd/a", exe: "a"}, {group: "g", pkg: "./cmd/b", exe: "b"}, {group: "g", pkg: "./cmd/c", exe: "c"}},
			[][]int{{0, 1, 2}},
		},
		{
			"platforms (groups) build apart, in order of first appearance",
			[]unit{
				{group: "amd64", pkg: "./cmd/a", exe: "a"}, {group: "arm64", pkg: "./cmd/a", exe: "a"},
				{group: "amd64", pkg: "./cmd/b", exe: "b"}, {group: "arm64", pkg: "./cmd/b", exe: "b"},
			},
			[][]int{{0, 2}, {1, 3}},
		},
		{
			"different flags (-X values) build apart",
			[]unit{{group: "x=1", pkg: "./cmd/a", exe: "a"}, {group: "x=2", pkg: "./cmd/b", exe: "b"}, {group: "x=1", pkg: "./cmd/c", exe: "c"}},
			[][]int{{0, 2}, {1}},
		},
		{
			"the same package twice (two images of one main) needs two builds",
			[]unit{{group: "g", pkg: ".", exe: "app"}, {group: "g", pkg: ".", exe: "app"}, {group: "g", pkg: "./cmd/b", exe: "b"}},
			[][]int{{0, 2}, {1}},
		},
		{
			"two packages with one file name (cmd/x/server, cmd/y/server) need two builds",
			[]unit{{group: "g", pkg: "./x/server", exe: "server"}, {group: "g", pkg: "./y/server", exe: "server"}, {group: "g", pkg: "./z", exe: "z"}},
			[][]int{{0, 2}, {1}},
		},
		{
			"a package whose file name is unknown builds alone",
			[]unit{{group: "g", pkg: "./cmd/...", exe: ""}, {group: "g", pkg: "./cmd/a", exe: "a"}, {group: "g", pkg: "./cmd/b", exe: "b"}},
			[][]int{{0}, {1, 2}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, plan(tc.units)); diff != "" {
				t.Errorf("plan mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExecName(t *testing.T) {
	for _, tc := range []struct {
		mod, pkg, want string
	}{
		{"example.com/app", ".", "app"},
		{"example.com/app", "./", "app"},
		{"example.com/app", "./cmd/server", "server"},
		{"example.com/app", "./cmd/server/", "server"},
		{"example.com/app/v2", ".", "app"},
		{"example.com/app", "./cmd/tool/v3", "tool"},
		{"example.com/app", "./cmd/v1", "v1"},
		{"example.com/app", "./cmd/v0", "v0"},
		{"example.com/app", "./cmd/v2beta", "v2beta"},
		{"app", ".", "app"},
		{"v2", ".", "v2"},
		{"example.com/app", "example.com/app/cmd/x", "x"},
		{"example.com/app", "golang.org/x/tools/gopls", "gopls"},
		{"example.com/app", "./cmd/...", ""},
		{"example.com/app", "../other", ""},
		{"example.com/app", "/abs/path", ""},
		{"", ".", ""},
		{"", "./cmd/x", ""},
	} {
		if got := execName(tc.mod, tc.pkg); got != tc.want {
			t.Errorf("execName(%q, %q) = %q, want %q", tc.mod, tc.pkg, got, tc.want)
		}
	}
}

// writeMultiModule writes a module with three mains that share a package.
func writeMultiModule(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":           "module example.com/multi\n\ngo 1.26\n",
		"shared/shared.go": "package shared\n\n// Greeting is shared by every main.\nconst Greeting = \"hello\"\n",
	}
	for _, name := range []string{"a", "b", "c"} {
		files["cmd/"+name+"/main.go"] = "package main\n\nimport \"example.com/multi/shared\"\n\nvar version string\n\nfunc main() { println(shared.Greeting, \"" + name + "\", version) }\n"
	}
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRunAllBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the standard library for two platforms")
	}
	t.Setenv("GOFLAGS", "")
	racy := racyWindow
	racyWindow = 0 // the files are written by the test, just before each run
	defer func() { racyWindow = racy }()

	gobin, builds := countingGo(t)
	dir := writeMultiModule(t)
	out := filepath.Join(t.TempDir(), "bin")
	stamps := t.TempDir()
	var log bytes.Buffer
	reqs := func(version string) []Request {
		var rs []Request
		for _, name := range []string{"a", "b", "c"} {
			rs = append(rs, Request{
				Dir: dir, Package: "./cmd/" + name, Name: "img-" + name, OutDir: out,
				Platforms: []v1.Platform{amd64, arm64},
				Vars:      map[string]string{"main.version": version},
				GoBin:     gobin, StampDir: stamps, Log: &log,
			})
		}
		// Another -X value: cannot share the others' go build.
		rs = append(rs, Request{
			Dir: dir, Package: "./cmd/a", Name: "other", OutDir: out,
			Platforms: []v1.Platform{amd64},
			Vars:      map[string]string{"main.version": version + "-other"},
			GoBin:     gobin, StampDir: stamps, Log: &log,
		})
		return rs
	}
	ctx := context.Background()
	res, err := RunAll(ctx, reqs("v1"))
	if err != nil {
		t.Fatal(err)
	}
	// One go build per platform for a, b and c, one for other.
	if got := builds(); got != 3 {
		t.Errorf("first run: %d go builds, want 3 (one per platform for the three images, one for the fourth)\n%s", got, log.String())
	}
	for i, name := range []string{"img-a", "img-b", "img-c"} {
		if res[i].Err != nil {
			t.Fatalf("%s: %v", name, res[i].Err)
		}
		want := []Binary{
			{Platform: amd64, Path: filepath.Join(out, name+"_linux_amd64")},
			{Platform: arm64, Path: filepath.Join(out, name+"_linux_arm64")},
		}
		if diff := cmp.Diff(want, res[i].Binaries); diff != "" {
			t.Errorf("%s binaries mismatch (-want +got):\n%s", name, diff)
		}
		for _, b := range res[i].Binaries {
			checkELF(t, b)
		}
		if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
			got, err := exec.Command(res[i].Binaries[0].Path).CombinedOutput()
			if err != nil {
				t.Fatal(err)
			}
			if want := "hello " + name[len("img-"):] + " v1\n"; string(got) != want {
				t.Errorf("%s printed %q, want %q", res[i].Binaries[0].Path, got, want)
			}
		}
	}
	if res[3].Err != nil {
		t.Fatal(res[3].Err)
	}
	if data := readFile(t, res[3].Binaries[0].Path); !bytes.Contains(data, []byte("v1-other")) {
		t.Errorf("%s lacks its own -X value v1-other", res[3].Binaries[0].Path)
	}

	t.Run("a batched binary is the binary built alone", func(t *testing.T) {
		alone, err := Run(ctx, Request{
			Dir: dir, Package: "./cmd/b", Name: "img-b", OutDir: t.TempDir(),
			Platforms: []v1.Platform{arm64}, Vars: map[string]string{"main.version": "v1"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(readFile(t, alone[0].Path), readFile(t, res[1].Binaries[1].Path)) {
			t.Errorf("%s built in a batch differs from %s built alone", res[1].Binaries[1].Path, alone[0].Path)
		}
	})

	t.Run("nothing changed: no go build", func(t *testing.T) {
		n := builds()
		log.Reset()
		if _, err := RunAll(ctx, reqs("v1")); err != nil {
			t.Fatal(err)
		}
		if got := builds() - n; got != 0 {
			t.Errorf("%d go builds, want 0 (every stamp holds)\n%s", got, log.String())
		}
		if got := strings.Count(log.String(), "up to date"); got != 7 {
			t.Errorf("%d binaries logged up to date, want 7\n%s", got, log.String())
		}
		for _, name := range []string{"a", "b", "c"} {
			want := "compile: ./cmd/" + name + " for linux/arm64 -> "
			if !strings.Contains(log.String(), want) || !strings.Contains(log.String(), "img-"+name+"_linux_arm64 (up to date") {
				t.Errorf("no line %q…img-%s_linux_arm64 (up to date: each binary's line names its own package\n%s", want, name, log.String())
			}
		}
		for line := range strings.Lines(log.String()) {
			if strings.Contains(line, "img-b_") && !strings.Contains(line, "./cmd/b ") {
				t.Errorf("a line of img-b names another package: %s", line)
			}
		}
	})

	t.Run("one stale binary rebuilds its batch, unchanged binaries are not relinked", func(t *testing.T) {
		before := stat(t, res[0].Binaries)
		os.Remove(filepath.Join(stamps, "img-b_linux_amd64.stamp"))
		n := builds()
		if _, err := RunAll(ctx, reqs("v1")); err != nil {
			t.Fatal(err)
		}
		if got := builds() - n; got != 1 {
			t.Errorf("%d go builds, want 1 (the amd64 batch)", got)
		}
		after := stat(t, res[0].Binaries)
		for i, b := range res[0].Binaries {
			if !os.SameFile(before[i], after[i]) {
				t.Errorf("%s was replaced, want it left alone (unchanged)", b.Path)
			}
		}
	})

	t.Run("an edit that changes no binary, from another shell, relinks none", func(t *testing.T) {
		// Another shell: variables go does not read differ. The staging
		// directory must be the same, or go build relinks every binary.
		t.Setenv("OLDPWD", t.TempDir())
		t.Setenv("GANTRY_TEST_UNRELATED", "another shell")
		shared := filepath.Join(dir, "shared", "shared.go")
		src := readFile(t, shared)
		if err := os.WriteFile(shared, append(bytes.Clone(src), "\n// a comment at the end\n"...), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.WriteFile(shared, src, 0o644)
		var all []Binary
		for _, r := range res {
			all = append(all, r.Binaries...)
		}
		before := stat(t, all)
		n := builds()
		if _, err := RunAll(ctx, reqs("v1")); err != nil {
			t.Fatal(err)
		}
		if got := builds() - n; got != 3 {
			t.Errorf("%d go builds, want 3 (an input changed: one per platform for a, b and c, one for other)", got)
		}
		for i, fi := range stat(t, all) {
			if !os.SameFile(before[i], fi) {
				t.Errorf("%s was relinked, want go build to find it up to date in its staging directory", all[i].Path)
			}
		}
		if entries, err := os.ReadDir(filepath.Join(out, ".batch")); err != nil || len(entries) != 2 {
			t.Errorf("staging directories %v (%v), want 2: one per platform", entries, err)
		}
	})

	t.Run("a shared edit rebuilds every binary", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, "shared", "shared.go"), []byte("package shared\n\nconst Greeting = \"hi there\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		n := builds()
		res, err := RunAll(ctx, reqs("v1"))
		if err != nil {
			t.Fatal(err)
		}
		if got := builds() - n; got != 3 {
			t.Errorf("%d go builds, want 3", got)
		}
		for _, r := range res {
			for _, b := range r.Binaries {
				if !bytes.Contains(readFile(t, b.Path), []byte("hi there")) {
					t.Errorf("%s was not rebuilt after an edit of a shared package", b.Path)
				}
			}
		}
	})

	t.Run("a failed batch fails each of its images", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, "shared", "broken_arm64.go"), []byte("package shared\n\nvar _ = undefinedOnArm64\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(filepath.Join(dir, "shared", "broken_arm64.go"))
		res, err := RunAll(ctx, reqs("v1"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if res[i].Err == nil || !strings.Contains(res[i].Err.Error(), "for linux/arm64: exit status 1") || !strings.Contains(res[i].Err.Error(), "undefinedOnArm64") {
				t.Errorf("image %d: error %v, want the arm64 batch's failure", i, res[i].Err)
			}
			if len(res[i].Binaries) != 1 || res[i].Binaries[0].Platform.Architecture != "amd64" {
				t.Errorf("image %d: binaries %v, want the amd64 one only", i, res[i].Binaries)
			}
			if _, err := os.Stat(filepath.Join(stamps, filepath.Base(reqs("v1")[i].Name)+"_linux_arm64.stamp")); err == nil {
				t.Errorf("image %d: a stamp vouches for the arm64 binary after a failed build", i)
			}
		}
	})
}

func TestStageDir(t *testing.T) {
	req := Request{Dir: "/src", GoBin: "go", OutDir: "/out"}
	flags := []string{"build", "-trimpath"}
	env := []string{"PWD=/src", "OLDPWD=/home", "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0"}
	pkgs := []string{"./cmd/a", "./cmd/b"}
	base := stageDir(req, flags, env, pkgs)
	if filepath.Dir(base) != filepath.Join("/out", ".batch") {
		t.Fatalf("stageDir = %s, want it under /out/.batch", base)
	}
	for _, tc := range []struct {
		name  string
		req   Request
		flags []string
		env   []string
		pkgs  []string
		same  bool
	}{
		{"other shell", req, flags, []string{"OLDPWD=/tmp", "GOOS=linux", "CGO_ENABLED=0", "GOARCH=amd64", "TERM=xterm"}, pkgs, true},
		{"other platform", req, flags, []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"}, pkgs, false},
		{"other GOFLAGS", req, flags, append(slices.Clone(env), "GOFLAGS=-tags=x"), pkgs, false},
		{"other flags", req, []string{"build"}, env, pkgs, false},
		{"other packages", req, flags, env, []string{"./cmd/a"}, false},
		{"other module", Request{Dir: "/other", GoBin: "go", OutDir: "/out"}, flags, env, pkgs, false},
		{"other go", Request{Dir: "/src", GoBin: "go1.25", OutDir: "/out"}, flags, env, pkgs, false},
	} {
		if got := stageDir(tc.req, tc.flags, tc.env, tc.pkgs); (got == base) != tc.same {
			t.Errorf("%s: stageDir %s, base %s: same = %v, want %v", tc.name, got, base, got == base, tc.same)
		}
	}
}

func TestPruneStages(t *testing.T) {
	out := t.TempDir()
	now := time.Now()
	old := now.Add(-staleStage - time.Hour)
	dir := func(name string, mtime time.Time) string {
		d := filepath.Join(out, ".batch", name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "bin"), []byte("x"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(d, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return d
	}
	usedOld, unusedOld, recent := dir("used", old), dir("unused", old), dir("recent", now.Add(-time.Hour))
	pruneStages(out, []string{usedOld}, now)
	for d, want := range map[string]bool{usedOld: true, unusedOld: false, recent: true} {
		if _, err := os.Stat(d); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", filepath.Base(d), err == nil, want)
		}
	}
	pruneStages(filepath.Join(out, "missing"), nil, now) // no .batch: nothing to do, no panic
}
