package assemble

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// TestRealBinary builds a tiny Go program for linux/arm64, assembles it on
// the static base and checks the ELF header of the binary in the layer.
func TestRealBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go build")
	}
	bin := buildHello(t, helloModule(t), "linux", "arm64", "-s -w")

	store := newStore(t)
	base, err := ResolveBase(context.Background(), "static", arm64, WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	img := buildImage(t, Request{Store: store, Binary: bin, Name: "hello", Platform: arm64, Base: base, Created: testCreated})
	if err := validate.Image(img); err != nil {
		t.Errorf("validate.Image: %v", err)
	}
	layers, _ := img.Layers()
	got := fileInLayer(t, layers[len(layers)-1], "usr/local/bin/hello")
	want, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("binary in the layer (%d bytes) differs from the one built (%d bytes)", len(got), len(want))
	}
	f, err := elf.NewFile(bytes.NewReader(got))
	if err != nil {
		t.Fatalf("binary in the layer is not ELF: %v", err)
	}
	if f.Machine != elf.EM_AARCH64 || f.Class != elf.ELFCLASS64 || f.Type != elf.ET_EXEC {
		t.Errorf("ELF machine %v class %v type %v, want an AArch64 64-bit executable", f.Machine, f.Class, f.Type)
	}
}

func fileInLayer(t *testing.T, l v1.Layer, name string) []byte {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("no %s in layer: %v", name, err)
		}
		if h.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}

// helloModule writes a module whose main prints hello.
func helloModule(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	writeFile(t, src, "go.mod", []byte("module hello\n\ngo 1.26\n"))
	writeFile(t, src, "main.go", []byte("package main\n\nfunc main() { println(\"hello\") }\n"))
	return src
}

// buildHello builds the module at src for goos/goarch with the linker
// flags given, as the compile step does, and returns the binary's path.
func buildHello(t *testing.T, src, goos, goarch, ldflags string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hello_"+goos+"_"+goarch)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags="+ldflags, "-o", bin, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch, "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build for %s/%s: %v\n%s", goos, goarch, err, out)
	}
	return bin
}
