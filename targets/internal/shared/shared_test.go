package shared

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 4_034_999: "4.0 MB", 741: "741 B", 2_500_000_000: "2.5 GB"} {
		if got := HumanSize(n); got != want {
			t.Errorf("HumanSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRelPath(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(filepath.Dir(wd), "elsewhere")
	for in, want := range map[string]string{
		filepath.Join(wd, "dist", "oci", "hello"): filepath.Join("dist", "oci", "hello"),
		"dist/oci/../oci/hello":                   filepath.Join("dist", "oci", "hello"),
		outside:                                   outside,
		filepath.Join(wd, "..dotted"):             "..dotted",
	} {
		if got := RelPath(in); got != want {
			t.Errorf("RelPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidTag(t *testing.T) {
	for tag, want := range map[string]bool{
		"v1.2.3": true, "latest": true, "_x": true, "1.2.3-amd64": true,
		"": false, ".x": false, "-x": false, "a+b": false,
		strings.Repeat("a", MaxTagLen): true, strings.Repeat("a", MaxTagLen+1): false,
	} {
		if got := ValidTag(tag); got != want {
			t.Errorf("ValidTag(%q) = %v, want %v", tag, got, want)
		}
	}
}
