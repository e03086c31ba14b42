package targets_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/testrepo"
)

// TestInitThenRelease runs `go tool mage init <dir>` from this clone on a
// fresh module, then `go tool mage release` there, offline (the new go.mod
// replaces the kit with this checkout).
func TestInitThenRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two magefile binaries")
	}
	dir := filepath.Join(t.TempDir(), "fresh")
	if err := testrepo.CopyTree(filepath.Join(testrepo.TestdataDir(), "plain"), dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module github.com/acme/fresh\n\ngo 1.26.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	offline := []string{"GOPROXY=off", "GOFLAGS=-mod=mod"}
	out, err := mage(t, kitRoot(), append(offline, "GANTRY_TEMPLATE=github-split"), "init", dir)
	if err != nil {
		t.Fatalf("mage init: %v\n%s", err, out)
	}
	for _, want := range []string{"wrote magefiles/magefile.go", "wrote .github/workflows/image.yml", "replace github.com/gantrybuild/gantry => " + kitRoot(), "go tool mage release"} {
		if !strings.Contains(out, want) {
			t.Errorf("mage init output lacks %q:\n%s", want, out)
		}
	}
	if out, err := mage(t, kitRoot(), offline, "init", dir); err == nil || !strings.Contains(out, "refusing to overwrite") {
		t.Errorf("a second mage init did not refuse: %v\n%s", err, out)
	}
	testrepo.Init(t, dir, "fresh")

	out, err = mage(t, dir, nil, "release")
	if err != nil {
		t.Fatalf("go tool mage release after init: %v\n%s", err, out)
	}
	for _, want := range []string{"linux/amd64", "linux/arm64", "dist/oci/fresh"} {
		if !strings.Contains(out, want) {
			t.Errorf("release output lacks %q:\n%s", want, out)
		}
	}
	ocitest.ValidateLayout(t, filepath.Join(dir, "dist", "oci", "fresh"))
}
