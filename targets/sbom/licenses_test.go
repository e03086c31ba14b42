package sbom

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gantrybuild/gantry/targets/internal/testrepo"
)

func TestDetectLicense(t *testing.T) {
	vendor := filepath.Join(testrepo.TestdataDir(), "hello", "vendor")
	bsd, err := os.ReadFile(filepath.Join(vendor, "golang.org", "x", "mod", "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	// A module cache holding one module, under its escaped path.
	cache := t.TempDir()
	dir := filepath.Join(cache, "github.com", "!example", "lib@v1.0.0")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "LICENSE.txt"), bsd, 0o644); err != nil {
		t.Fatal(err)
	}
	d := &licenseDetector{main: dir, vendor: vendor, modcache: cache}
	if got := d.detectMain(); got != "BSD-3-Clause" {
		t.Errorf("detectMain = %q, want BSD-3-Clause", got)
	}
	for _, tc := range []struct{ path, version, want string }{
		{"golang.org/x/mod", "v0.42.0", "BSD-3-Clause"},      // vendor/
		{"github.com/Example/lib", "v1.0.0", "BSD-3-Clause"}, // module cache
		{"github.com/Example/lib", "v2.0.0", ""},             // no sources
		{"example.com/none", "v1.0.0", ""},                   // no sources
		{"golang.org/x/mod/semver", "v0.42.0", ""},           // no license file
	} {
		if got := d.detect(tc.path, tc.version); got != tc.want {
			t.Errorf("detect(%s@%s) = %q, want %q", tc.path, tc.version, got, tc.want)
		}
	}
	var none *licenseDetector
	if got := none.detect("golang.org/x/mod", "v0.42.0"); got != "" {
		t.Errorf("no detector: %q, want none", got)
	}
}
