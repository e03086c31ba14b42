package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/internal/testrepo"
)

// TestBadInput checks that each bad input gives an error naming the value
// and the fix, and leaves an existing layout exactly as it was.
func TestBadInput(t *testing.T) {
	repo := testrepo.New(t, "hello", "")
	release(t, mustBuild(t, repo.Dir, config.Project{}, nil))
	dist := filepath.Join(repo.Dir, "dist")
	before := snapshot(t, filepath.Join(dist, "oci"))

	corrupt := filepath.Join(t.TempDir(), "corrupt")
	os.MkdirAll(filepath.Join(corrupt, "blobs", "sha256"), 0o755)
	os.WriteFile(filepath.Join(corrupt, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
	os.WriteFile(filepath.Join(corrupt, "index.json"), []byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":10}]}`), 0o644)

	tests := []struct {
		name string
		env  map[string]string
		edit func(t *testing.T) // breaks the source; undone by t.Cleanup
		want []string           // substrings of the error
	}{
		{name: "invalid platform", env: map[string]string{"GANTRY_PLATFORMS": "linux/amd65"},
			want: []string{`"linux/amd65"`, "linux/arm64"}},
		{name: "unknown base", env: map[string]string{"GANTRY_BASE": "statc"},
			want: []string{`"statc"`, "scratch"}},
		{name: "corrupt base layout", env: map[string]string{"GANTRY_BASE": "oci:" + corrupt},
			want: []string{corrupt}},
		{name: "no main package", env: map[string]string{"GANTRY_MAIN": "./vendor"},
			want: []string{`"./vendor"`, "GANTRY_MAIN"}},
		{name: "bad image name", env: map[string]string{"GANTRY_IMAGE": "Hello World"},
			want: []string{`"Hello World"`, "GANTRY_IMAGE"}},
		{name: "stale vendor dir", env: map[string]string{"GANTRY_ALLOW_DIRTY": "1"},
			edit: func(t *testing.T) {
				p := filepath.Join(repo.Dir, "vendor", "golang.org", "x", "mod", "semver", "semver.go")
				orig, _ := os.ReadFile(p)
				os.WriteFile(p, append(orig, []byte("\n// edited\n")...), 0o644)
				t.Cleanup(func() { os.WriteFile(p, orig, 0o644) })
			},
			want: []string{"golang.org/x/mod", "go mod vendor"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.edit != nil {
				tc.edit(t)
			}
			err := releaseErr(t, repo.Dir, config.Project{}, tc.env)
			if err == nil {
				t.Fatal("release succeeded, want an error")
			}
			msg := err.Error()
			if strings.Contains(strings.TrimSpace(msg), "\n") && tc.name != "stale vendor dir" {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if diff := cmp.Diff(before, snapshot(t, filepath.Join(dist, "oci"))); diff != "" {
				t.Errorf("the failed release changed the layout (-before +after):\n%s", diff)
			}
		})
	}
}

func TestModuleErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) string
		want  []string
	}{
		{"no go.mod", func(t *testing.T) string { return t.TempDir() }, []string{"no go.mod", "go mod init"}},
		{"ambiguous main", func(t *testing.T) string { return testrepo.New(t, "multi", "").Dir }, []string{"./cmd/api", "./cmd/worker", "GANTRY_MAIN"}},
		{"no main", func(t *testing.T) string {
			r := testrepo.New(t, "multi", "")
			os.RemoveAll(filepath.Join(r.Dir, "cmd"))
			return r.Dir
		}, []string{"no main package", "GANTRY_MAIN"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := releaseErr(t, tc.setup(t), config.Project{}, map[string]string{"GANTRY_ALLOW_DIRTY": "1"})
			if err == nil {
				t.Fatal("release succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func releaseErr(t *testing.T, dir string, p config.Project, env map[string]string) error {
	b, err := newBuild(t, dir, p, env)
	if err != nil {
		return err
	}
	return b.Release(context.Background())
}
