package templates_test

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v5"
	"go.yaml.in/yaml/v3"

	"github.com/gantrybuild/gantry/templates"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// example is what the golden files are rendered with.
var example = templates.Data{
	Module:    "github.com/acme/shop",
	Image:     "shop",
	Main:      "./cmd/shop",
	Platforms: []string{"linux/amd64", "linux/arm64"},
	Repo:      "ghcr.io/acme/shop",
	GoVersion: "1.26",
}

// minimal leaves out everything optional.
var minimal = templates.Data{
	Module:    "example.com/tool",
	Image:     "tool",
	Platforms: []string{"linux/amd64", "linux/arm64", "linux/arm/v7"},
	GoVersion: "1.26",
}

// rendered renders every template with d, by file name.
func rendered(t *testing.T, d templates.Data) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, c := range templates.CIs {
		b, err := c.Render(d)
		if err != nil {
			t.Fatal(err)
		}
		out[c.Name+".yml"] = b
	}
	b, err := templates.Magefile(d)
	if err != nil {
		t.Fatal(err)
	}
	out["magefile.go"] = b
	if b, err = templates.Dockerfile(d); err != nil {
		t.Fatal(err)
	}
	out["Dockerfile"] = b
	return out
}

func TestGolden(t *testing.T) {
	for set, d := range map[string]templates.Data{"example": example, "minimal": minimal} {
		for name, got := range rendered(t, d) {
			path := filepath.Join("testdata", "golden", set, name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./templates -update and review the diff)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s/%s differs from the golden file (-want +got; go test ./templates -update rewrites it):\n%s", set, name, diff)
			}
		}
	}
}

// needTool is ocitest.NeedTool, which this package cannot import: skip when
// missing, fail under CI=true, where .ci/run installs it.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not on PATH; .ci/run must install it", name)
	}
	t.Skipf("%s is not on PATH (install it to run this test; CI does)", name)
	return ""
}

func TestGitHubWorkflowsPassActionlint(t *testing.T) {
	actionlint := needTool(t, "actionlint")
	for set, d := range map[string]templates.Data{"example": example, "minimal": minimal} {
		dir := t.TempDir()
		wf := filepath.Join(dir, ".github", "workflows")
		if err := os.MkdirAll(wf, 0o755); err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, c := range templates.CIs {
			if !strings.HasPrefix(c.Name, "github") {
				continue
			}
			b, err := c.Render(d)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(wf, c.Name+".yml")
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, p)
		}
		cmd := exec.Command(actionlint, append([]string{"-no-color"}, paths...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("actionlint on the %s workflows: %v\n%s", set, err, out)
		}
	}
}

// gitlabJob is the part of a GitLab CI job the test checks.
type gitlabJob struct {
	Extends  string   `yaml:"extends"`
	Stage    string   `yaml:"stage"`
	Script   []string `yaml:"script"`
	Needs    []string `yaml:"needs"`
	Parallel struct {
		Matrix []map[string][]string `yaml:"matrix"`
	} `yaml:"parallel"`
	Artifacts struct {
		Paths []string `yaml:"paths"`
	} `yaml:"artifacts"`
	Cache struct {
		Paths []string `yaml:"paths"`
	} `yaml:"cache"`
}

func TestGitLabPipelines(t *testing.T) {
	for _, tc := range []struct {
		name   string
		jobs   []string
		stages []string
	}{
		{"gitlab", []string{"release"}, []string{"release"}},
		{"gitlab-split", []string{"build", "merge"}, []string{"build", "release"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := templates.LookupCI(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			b, err := c.Render(example)
			if err != nil {
				t.Fatal(err)
			}
			var top map[string]any
			if err := yaml.Unmarshal(b, &top); err != nil {
				t.Fatalf("not YAML: %v\n%s", err, b)
			}
			decode := func(v, into any) error {
				raw, err := yaml.Marshal(v)
				if err != nil {
					return err
				}
				return yaml.Unmarshal(raw, into)
			}
			jobs := map[string]gitlabJob{}
			var stages []string
			for k, n := range top {
				switch {
				case k == "stages":
					if err := decode(n, &stages); err != nil {
						t.Fatal(err)
					}
				case k == "variables" || strings.HasPrefix(k, "."):
				default:
					var j gitlabJob
					if err := decode(n, &j); err != nil {
						t.Fatalf("job %s: %v", k, err)
					}
					jobs[k] = j
				}
			}
			var names []string
			for k := range jobs {
				names = append(names, k)
			}
			slices.Sort(names)
			if diff := cmp.Diff(tc.jobs, names); diff != "" {
				t.Errorf("jobs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.stages, stages); diff != "" {
				t.Errorf("stages (-want +got):\n%s", diff)
			}
			var cache gitlabJob
			if err := decode(top[".go"], &cache); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{".go/pkg/mod/", ".cache/go-build/"}, cache.Cache.Paths); diff != "" {
				t.Errorf("cached paths (-want +got):\n%s", diff)
			}
			for name, j := range jobs {
				if !slices.Contains(stages, j.Stage) {
					t.Errorf("job %s is in stage %q, not one of %v", name, j.Stage, stages)
				}
				if j.Extends != ".go" {
					t.Errorf("job %s does not extend .go (Go image and caches)", name)
				}
				if len(j.Script) == 0 {
					t.Errorf("job %s has no script", name)
				}
			}
			if tc.name == "gitlab-split" {
				build, merge := jobs["build"], jobs["merge"]
				if len(build.Parallel.Matrix) != 1 || !slices.Equal(build.Parallel.Matrix[0]["ARCH"], []string{"amd64", "arm64"}) {
					t.Errorf("build's parallel:matrix = %v, want ARCH: [amd64, arm64]", build.Parallel.Matrix)
				}
				if !slices.Equal(build.Artifacts.Paths, []string{"layouts/"}) {
					t.Errorf("build's artifacts = %v, want layouts/", build.Artifacts.Paths)
				}
				if !slices.Equal(merge.Needs, []string{"build"}) {
					t.Errorf("merge needs %v, want build", merge.Needs)
				}
				for _, target := range []string{"mage index", "mage sign", "mage push"} {
					if !strings.Contains(strings.Join(merge.Script, "\n"), target) {
						t.Errorf("merge does not run %s", target)
					}
				}
			}
		})
	}
}

func TestLookupCIUnknown(t *testing.T) {
	_, err := templates.LookupCI("jenkins")
	if err == nil || !strings.Contains(err.Error(), `"jenkins"`) || !strings.Contains(err.Error(), "github-split") {
		t.Errorf("LookupCI(jenkins) = %v, want an error naming the value and the valid ones", err)
	}
}

// Every GitLab template, rendered with every example, is valid against
// GitLab's own schema of .gitlab-ci.yml (testdata/gitlab-ci.schema.md).
func TestGitLabSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	schema, err := c.Compile(filepath.Join("testdata", "gitlab-ci.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	for dataName, d := range map[string]templates.Data{"example": example, "minimal": minimal} {
		for _, ci := range templates.CIs {
			if !strings.HasPrefix(ci.Name, "gitlab") {
				continue
			}
			t.Run(dataName+"/"+ci.Name, func(t *testing.T) {
				b, err := ci.Render(d)
				if err != nil {
					t.Fatal(err)
				}
				var doc any
				if err := yaml.Unmarshal(b, &doc); err != nil {
					t.Fatalf("not YAML: %v", err)
				}
				// Through JSON, so the validator sees JSON types.
				raw, err := json.Marshal(doc)
				if err != nil {
					t.Fatal(err)
				}
				var v any
				if err := json.Unmarshal(raw, &v); err != nil {
					t.Fatal(err)
				}
				if err := schema.Validate(v); err != nil {
					t.Errorf("%s does not validate against GitLab's CI schema: %#v", ci.Name, err)
				}
			})
		}
	}
	// The schema does reject a broken pipeline.
	var bad any
	json.Unmarshal([]byte(`{"release": {"stage": "release", "script": "x", "when": "sometimes"}}`), &bad)
	if err := schema.Validate(bad); err == nil {
		t.Error("the schema accepted a job with when: sometimes")
	}
}
