package compile

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

var (
	amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = v1.Platform{OS: "linux", Architecture: "arm64"}
)

const mainGo = `package main

import "fmt"

var version, note string

func main() { fmt.Println(version + "|" + note) }
`

// writeModule writes a stdlib-only main module into a new temp dir.
func writeModule(t testing.TB, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"go.mod": "module example.com/hello\n\ngo 1.26\n", "main.go": mainGo}
	for name, src := range extra {
		files[name] = src
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// request builds dir for amd64 and arm64 into out, with env added to the
// environment.
func request(t testing.TB, dir, out string, env ...string) Request {
	t.Helper()
	return Request{
		Dir:       dir,
		Package:   ".",
		Name:      "hello",
		OutDir:    out,
		Platforms: []v1.Platform{amd64, arm64},
		Vars:      map[string]string{"main.version": "v1.2.3-test", "main.note": "built by gantry"},
		Env:       append(os.Environ(), env...),
	}
}

func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the standard library for two platforms in an empty build cache")
	}
	// This machine sets GOFLAGS=-buildvcs=false; it is allowed, but keep
	// the test independent of the caller's shell.
	t.Setenv("GOFLAGS", "")
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "dist", "bin") // missing: Run creates it

	// Inherited settings that must not reach the build.
	var log bytes.Buffer
	req := request(t, writeModule(t, nil), out, "CGO_ENABLED=1", "GOAMD64=v3", "GOARM64=v9.0", "GOOS=darwin")
	req.Log = &log
	start := time.Now()
	bins, err := Run(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	cold := time.Since(start)
	want := []Binary{
		{Platform: amd64, Path: filepath.Join(out, "hello_linux_amd64")},
		{Platform: arm64, Path: filepath.Join(out, "hello_linux_arm64")},
	}
	if diff := cmp.Diff(want, bins); diff != "" {
		t.Fatalf("Run binaries mismatch (-want +got):\n%s", diff)
	}
	if got := strings.Count(log.String(), "\n"); got != 2 {
		t.Errorf("Run logged %d lines, want one per platform:\n%s", got, log.String())
	}

	t.Run("elf", func(t *testing.T) {
		for _, b := range bins {
			checkELF(t, b)
		}
	})
	t.Run("vars", func(t *testing.T) {
		if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
			got, err := exec.Command(bins[0].Path).Output()
			if err != nil {
				t.Fatal(err)
			}
			if want := "v1.2.3-test|built by gantry\n"; string(got) != want {
				t.Errorf("amd64 binary printed %q, want %q", got, want)
			}
		}
		data, err := os.ReadFile(bins[1].Path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte("v1.2.3-test")) || !bytes.Contains(data, []byte("built by gantry")) {
			t.Errorf("%s does not contain the -X values", bins[1].Path)
		}
	})

	t.Run("reproducible", func(t *testing.T) {
		// Another source directory, output directory and (empty) build
		// cache, and no stray settings in the environment.
		start := time.Now()
		bins2, err := Run(ctx, request(t, writeModule(t, nil), t.TempDir(), "GOCACHE="+t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		for i := range bins {
			a, b := readFile(t, bins[i].Path), readFile(t, bins2[i].Path)
			if !bytes.Equal(a, b) {
				t.Errorf("%s and %s differ", bins[i].Path, bins2[i].Path)
			}
		}
		t.Logf("build with an empty cache: %s", time.Since(start).Round(time.Millisecond))
	})

	// go build -o finds the build ID it would produce already in the file
	// and skips the link, leaving the file (inode and bytes) alone. It does
	// touch the mtime, on purpose (cmd/go/internal/work BuildInstallFunc),
	// so nothing downstream should key a cache on it.
	t.Run("unchanged binary is not relinked", func(t *testing.T) {
		before, data := stat(t, bins), readFile(t, bins[0].Path)
		start := time.Now()
		if _, err := Run(ctx, req); err != nil {
			t.Fatal(err)
		}
		t.Logf("first build %s, unchanged rebuild %s", cold.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
		after := stat(t, bins)
		for i, b := range bins {
			if !os.SameFile(before[i], after[i]) {
				t.Errorf("%s was replaced by a new file", b.Path)
			}
		}
		if !bytes.Equal(data, readFile(t, bins[0].Path)) {
			t.Errorf("%s changed", bins[0].Path)
		}
	})

	t.Run("changed binary is relinked", func(t *testing.T) {
		before := stat(t, bins)
		req := req
		req.Vars = map[string]string{"main.version": "v1.2.4-test"}
		if _, err := Run(ctx, req); err != nil {
			t.Fatal(err)
		}
		after := stat(t, bins)
		for i, b := range bins {
			if os.SameFile(before[i], after[i]) {
				t.Errorf("%s was not replaced after a change", b.Path)
			}
			if data := readFile(t, b.Path); !bytes.Contains(data, []byte("v1.2.4-test")) {
				t.Errorf("%s still has the old version after a rebuild with a new one", b.Path)
			}
		}
	})
}

func TestRunCompileError(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the standard library for two platforms")
	}
	t.Setenv("GOFLAGS", "")
	dir := writeModule(t, map[string]string{"broken_arm64.go": "package main\n\nvar _ = undefinedOnArm64\n"})
	out := t.TempDir()
	bins, err := Run(context.Background(), request(t, dir, out))
	if err == nil {
		t.Fatal("Run: got nil error, want the arm64 build to fail")
	}
	msg := err.Error()
	for _, want := range []string{"compiling . for linux/arm64: exit status 1\n", "undefined: undefinedOnArm64"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Run error does not contain %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "linux/amd64") {
		t.Errorf("Run error mentions linux/amd64, which built:\n%s", msg)
	}
	want := []Binary{{Platform: amd64, Path: filepath.Join(out, "hello_linux_amd64")}}
	if diff := cmp.Diff(want, bins); diff != "" {
		t.Errorf("Run binaries mismatch (-want +got):\n%s", diff)
	}
	checkELF(t, want[0])
}

func TestRunRefusesGOFLAGS(t *testing.T) {
	dir := writeModule(t, nil)
	out := filepath.Join(t.TempDir(), "bin")

	t.Setenv("GOFLAGS", "-race")
	_, err := Run(context.Background(), request(t, dir, out))
	if want := "GOFLAGS in the environment cannot be used for a reproducible build:\nGOFLAGS contains -race,"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Run with GOFLAGS=-race: error = %v, want it to contain %q", err, want)
	}

	// A value set with go env -w lives in the file GOENV names.
	t.Setenv("GOFLAGS", "")
	goenv := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(goenv, []byte("GOFLAGS=-toolexec=/bin/true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), request(t, dir, out, "GOENV="+goenv))
	if want := "GOFLAGS set with go env -w (go env -u GOFLAGS removes it) cannot be used for a reproducible build:\nGOFLAGS contains -toolexec=/bin/true,"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Run with go env -w GOFLAGS=-toolexec: error = %v, want it to contain %q", err, want)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("Run created %s before refusing GOFLAGS", out)
	}
}

func TestRunValidates(t *testing.T) {
	base := Request{Package: ".", OutDir: "bin", Platforms: []v1.Platform{amd64}}
	tests := []struct {
		name string
		edit func(*Request)
		want string
	}{
		{"no package", func(r *Request) { r.Package = "" }, "no package to build"},
		{"no out dir", func(r *Request) { r.OutDir = "" }, "no output directory"},
		{"no platforms", func(r *Request) { r.Platforms = nil }, "no platforms to build . for"},
		{"darwin", func(r *Request) { r.Platforms = []v1.Platform{{OS: "darwin", Architecture: "arm64"}} }, `platform "darwin/arm64": images are linux or windows`},
		{"bad variant", func(r *Request) { r.Platforms = []v1.Platform{{OS: "linux", Architecture: "amd64", Variant: "v9"}} }, `unknown amd64 variant "v9"`},
		{"duplicate", func(r *Request) {
			r.Platforms = []v1.Platform{arm64, {OS: "linux", Architecture: "arm64", Variant: "v8"}}
		}, "platform linux/arm64 is listed twice"},
		{"name with slash", func(r *Request) { r.Name = "a/b" }, `binary name "a/b" contains a path separator`},
	}
	for _, tt := range tests {
		req := base
		tt.edit(&req)
		_, err := Run(context.Background(), req)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Run error = %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	dir := t.TempDir()
	for pkg, want := range map[string]string{"./cmd/server": "server", ".": filepath.Base(dir), "example.com/x/cmd/tool": "tool"} {
		req, err := normalize(Request{Dir: dir, Package: pkg, OutDir: "bin", Platforms: []v1.Platform{amd64}})
		if err != nil {
			t.Fatal(err)
		}
		if req.Name != want {
			t.Errorf("Name for package %q = %q, want %q", pkg, req.Name, want)
		}
	}
}

// BenchmarkRunUnchanged measures a Run whose binaries are up to date.
func BenchmarkRunUnchanged(b *testing.B) {
	b.Setenv("GOFLAGS", "")
	req := request(b, writeModule(b, nil), b.TempDir())
	if _, err := Run(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Run(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}

func checkELF(t *testing.T, b Binary) {
	t.Helper()
	f, err := elf.Open(b.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[b.Platform.Architecture]
	if f.Machine != want {
		t.Errorf("%s: ELF machine %s, want %s", b.Path, f.Machine, want)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has an ELF interpreter: it is not static (CGO_ENABLED leaked?)", b.Path)
		}
	}
	if f.Section(".note.go.buildid") == nil {
		t.Errorf("%s has no Go build ID note", b.Path)
	}
	if f.Section(".symtab") != nil {
		t.Errorf("%s has a symbol table: -s was not applied", b.Path)
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func stat(t *testing.T, bins []Binary) []os.FileInfo {
	t.Helper()
	fis := make([]os.FileInfo, len(bins))
	for i, b := range bins {
		fi, err := os.Stat(b.Path)
		if err != nil {
			t.Fatal(err)
		}
		fis[i] = fi
	}
	return fis
}
