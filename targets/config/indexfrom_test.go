package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIndexFromGlob(t *testing.T) {
	dir := app(t, "plain")
	for _, d := range []string{"dist/layouts/layout-1", "dist/layouts/layout-0", "other"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Load(Project{}, MapEnv(map[string]string{"GANTRY_INDEX_FROM": "dist/layouts/*,other"}), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "dist/layouts/layout-0"), filepath.Join(dir, "dist/layouts/layout-1"), filepath.Join(dir, "other")}
	if diff := cmp.Diff(want, c.IndexFrom); diff != "" {
		t.Errorf("IndexFrom (-want +got):\n%s", diff)
	}
	_, err = Load(Project{}, MapEnv(map[string]string{"GANTRY_INDEX_FROM": "nothing/*"}), dir)
	if err == nil || !strings.Contains(err.Error(), `"nothing/*" matches no directory`) {
		t.Errorf("a pattern that matches nothing: err = %v, want one naming it", err)
	}
}

func TestPlatformsUnion(t *testing.T) {
	dir := module(t, "example.com/multi", map[string]string{"cmd/api/main.go": mainGo, "cmd/worker/main.go": mainGo})
	c, err := Load(Project{Images: []Image{
		{Main: "./cmd/api", Platforms: []string{"linux/arm64", "linux/amd64"}},
		{Main: "./cmd/worker", Platforms: []string{"linux/amd64", "linux/arm/v7"}},
	}}, MapEnv(nil), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"linux/arm64", "linux/amd64", "linux/arm/v7"}
	var got []string
	for _, p := range c.Platforms() {
		got = append(got, strings.TrimSuffix(p.OS+"/"+p.Architecture+"/"+p.Variant, "/"))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Platforms (-want +got):\n%s", diff)
	}
}
