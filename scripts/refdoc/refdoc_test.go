package refdoc_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gantrybuild/gantry/scripts/refdoc"
	"github.com/gantrybuild/gantry/targets/config"
)

const root = "../.."

// TestReferenceIsCurrent fails when docs/reference.md is not what the code
// says: run `go tool mage docs` and commit the result.
func TestReferenceIsCurrent(t *testing.T) {
	got, err := refdoc.Generate(root)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(root, refdoc.Path))
	if err != nil {
		t.Fatalf("%v (run go tool mage docs)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s is stale: run `go tool mage docs` (-checked in +generated):\n%s", refdoc.Path, diff)
	}
}

func TestReferenceCoversEverything(t *testing.T) {
	got, err := refdoc.Generate(root)
	if err != nil {
		t.Fatal(err)
	}
	s := string(got)
	for _, want := range []string{"`release`", "`compile:platform <platform>`", "`init <moduleDir>`", "`verify:signature`", "### `config.Image`", "### `config.Push`", "| `Platforms` |"} {
		if !strings.Contains(s, want) {
			t.Errorf("reference lacks %s", want)
		}
	}
	for _, v := range config.Vars() {
		if !strings.Contains(s, "| `"+v.Name+"` |") {
			t.Errorf("reference lacks %s", v.Name)
		}
	}
}
