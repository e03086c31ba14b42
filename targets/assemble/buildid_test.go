package assemble

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestGoBuildID reads the build ID of real binaries (ELF for two
// architectures, PE) as go tool buildid does, and none where there is
// none.
func TestGoBuildID(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go build")
	}
	src := helloModule(t)
	build := func(goos, goarch, ldflags string) string { return buildHello(t, src, goos, goarch, ldflags) }
	toolID := func(bin string) string {
		out, err := exec.Command("go", "tool", "buildid", bin).Output()
		if err != nil {
			t.Fatalf("go tool buildid %s: %v", bin, err)
		}
		return strings.TrimSpace(string(out))
	}
	for _, tc := range []struct{ goos, goarch, ldflags string }{
		{"linux", "amd64", "-s -w"},
		{"linux", "arm64", "-s -w"},
		{"linux", "arm64", ""},
		{"windows", "amd64", "-s -w"},
	} {
		bin := build(tc.goos, tc.goarch, tc.ldflags)
		f, err := os.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		got, want := goBuildID(f), toolID(bin)
		f.Close()
		if got == "" || got != want {
			t.Errorf("%s/%s %q: goBuildID = %q, want go tool buildid's %q", tc.goos, tc.goarch, tc.ldflags, got, want)
		}
		if strings.Count(got, "/") != 3 {
			t.Errorf("%s/%s: build ID %q has not the four parts of a binary's", tc.goos, tc.goarch, got)
		}
	}
	t.Run("none", func(t *testing.T) {
		noID := build("linux", "amd64", "-s -w -buildid=")
		for name, r := range map[string]*bytes.Reader{
			"-buildid=":            bytes.NewReader(readAll(t, noID)),
			"script":               bytes.NewReader([]byte("#!/bin/sh\necho hi\n")),
			"empty":                bytes.NewReader(nil),
			"marker, bad id":       bytes.NewReader([]byte("xx\xff Go build ID: \"a b/c\"\n \xffyy")),
			"marker, one part":     bytes.NewReader([]byte("xx\xff Go build ID: \"abc\"\n \xffyy")),
			"marker, no end":       bytes.NewReader([]byte("xx\xff Go build ID: \"abc/def")),
			"marker, empty part":   bytes.NewReader([]byte("xx\xff Go build ID: \"abc//def\"\n \xff")),
			"truncated ELF header": bytes.NewReader(readAll(t, noID)[:40]),
		} {
			if got := goBuildID(r); got != "" {
				t.Errorf("%s: goBuildID = %q, want none", name, got)
			}
		}
		if got := goBuildID(bytes.NewReader([]byte("xx\xff Go build ID: \"ab-c/d_ef\"\n \xffyy"))); got != "ab-c/d_ef" {
			t.Errorf("a well-formed marker: goBuildID = %q, want ab-c/d_ef", got)
		}
	})
}

func readAll(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
