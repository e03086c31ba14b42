package templates_test

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	Branch:    "trunk",
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
	Extends   string            `yaml:"extends"`
	Stage     string            `yaml:"stage"`
	Script    []string          `yaml:"script"`
	Needs     []string          `yaml:"needs"`
	Variables map[string]string `yaml:"variables"`
	Rules     []struct {
		If   string `yaml:"if"`
		When string `yaml:"when"`
	} `yaml:"rules"`
	IDTokens map[string]map[string]string `yaml:"id_tokens"`
	Parallel struct {
		Matrix []map[string]string `yaml:"matrix"`
	} `yaml:"parallel"`
	Artifacts struct {
		Paths []string `yaml:"paths"`
	} `yaml:"artifacts"`
	Cache struct {
		Paths []string `yaml:"paths"`
	} `yaml:"cache"`
}

// onDefaultBranchAndTags is the rule of the jobs that sign and push.
const onDefaultBranchAndTags = "$CI_COMMIT_TAG || $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"

func TestGitLabPipelines(t *testing.T) {
	for _, tc := range []struct {
		name   string
		jobs   []string
		stages []string
	}{
		{"gitlab", []string{"check", "release"}, []string{"release"}},
		{"gitlab-split", []string{"build", "check", "plan", "release"}, []string{"plan", "build", "release"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := templates.LookupCI(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			b, err := c.Render(minimal)
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
				case k == "variables" || k == "workflow" || strings.HasPrefix(k, "."):
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
				script := strings.Join(j.Script, "\n")
				// Only the job that runs on the default branch and tags
				// signs, pushes and gets an id token.
				signs := len(j.IDTokens) > 0 || strings.Contains(script, "COSIGN_PRIVATE_KEY") || strings.Contains(script, "GANTRY_REPO") || strings.Contains(script, "CI_REGISTRY_PASSWORD")
				onRelease := len(j.Rules) == 1 && j.Rules[0].If == onDefaultBranchAndTags && j.Rules[0].When == ""
				if signs != (name == "release") || (name == "release") != onRelease {
					t.Errorf("job %s: signs or pushes %v, runs only on the default branch and tags %v; want both only for release", name, signs, onRelease)
				}
			}
			release := jobs["release"]
			if aud := release.IDTokens["SIGSTORE_ID_TOKEN"]["aud"]; aud != "sigstore" {
				t.Errorf("release's id_tokens = %v, want SIGSTORE_ID_TOKEN with aud sigstore", release.IDTokens)
			}
			check := jobs["check"]
			if len(check.Rules) != 2 || check.Rules[0].If != onDefaultBranchAndTags || check.Rules[0].When != "never" {
				t.Errorf("check's rules = %+v, want it everywhere but the default branch and tags", check.Rules)
			}
			if tc.name == "gitlab-split" {
				build := jobs["build"]
				var plats []string
				for _, m := range build.Parallel.Matrix {
					plats = append(plats, m["PLATFORM"])
					if !strings.HasPrefix(m["RUNNER"], "saas-linux-") {
						t.Errorf("build's matrix entry %v has no runner tag", m)
					}
				}
				if diff := cmp.Diff(minimal.Platforms, plats); diff != "" {
					t.Errorf("build's parallel:matrix platforms (-want +got):\n%s", diff)
				}
				if !slices.Equal(build.Artifacts.Paths, []string{"dist/layouts/"}) {
					t.Errorf("build's artifacts = %v, want dist/layouts/", build.Artifacts.Paths)
				}
				if plan := strings.Join(jobs["plan"].Script, "\n"); !strings.Contains(plan, "tool mage vendor:check") || !strings.Contains(plan, `expected='["linux/amd64","linux/arm64","linux/arm/v7"]'`) {
					t.Errorf("plan does not run vendor:check and compare the magefile's platforms with the matrix:\n%s", plan)
				}
				for _, name := range []string{"check", "release"} {
					j := jobs[name]
					if !slices.Equal(j.Needs, []string{"build"}) || j.Variables["GANTRY_INDEX_FROM"] != "dist/layouts/*" || !strings.Contains(strings.Join(j.Script, "\n"), "tool mage release") {
						t.Errorf("%s does not run release over the build jobs' layouts: needs %v, variables %v", name, j.Needs, j.Variables)
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

// githubWorkflow is the part of a GitHub workflow the test checks.
type githubWorkflow struct {
	Permissions map[string]string `yaml:"permissions"`
	Jobs        map[string]struct {
		If          string            `yaml:"if"`
		Permissions map[string]string `yaml:"permissions"`
		Steps       []struct {
			Uses string            `yaml:"uses"`
			Env  map[string]string `yaml:"env"`
			Run  string            `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

var pinnedAction = regexp.MustCompile(`^\s*- uses: actions/([a-z-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)$`)

// Pull requests run the PR's own magefile: no job they start gets a secret or
// a write permission; the job that pushes on the default branch and tags is
// the only one with packages: write and id-token: write. Every action is
// pinned to a commit, its version in a comment.
func TestGitHubWorkflowsLeastPrivilege(t *testing.T) {
	for _, c := range templates.CIs {
		if !strings.HasPrefix(c.Name, "github") {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			b, err := c.Render(minimal)
			if err != nil {
				t.Fatal(err)
			}
			var wf githubWorkflow
			if err := yaml.Unmarshal(b, &wf); err != nil {
				t.Fatal(err)
			}
			if len(wf.Permissions) != 0 {
				t.Errorf("workflow permissions = %v, want {} (each job asks for its own)", wf.Permissions)
			}
			for name, j := range wf.Jobs {
				var secrets, writes []string
				for _, s := range j.Steps {
					for k, v := range s.Env {
						if strings.Contains(v, "secrets.") {
							secrets = append(secrets, k)
						}
					}
				}
				for scope, level := range j.Permissions {
					if level != "read" {
						writes = append(writes, scope+": "+level)
					}
				}
				slices.Sort(writes)
				switch {
				case name == "release":
					if j.If != "github.event_name == 'push'" {
						t.Errorf("release runs if %q, want only on push (the default branch and tags)", j.If)
					}
					if diff := cmp.Diff([]string{"id-token: write", "packages: write"}, writes); diff != "" {
						t.Errorf("release's write permissions (-want +got):\n%s", diff)
					}
				case len(secrets) > 0 || len(writes) > 0:
					t.Errorf("job %s (runs if %q) gets secrets %v and permissions %v: only release may", name, j.If, secrets, writes)
				}
			}
			for _, line := range strings.Split(string(b), "\n") {
				if !strings.Contains(line, "uses:") {
					continue
				}
				m := pinnedAction.FindStringSubmatch(line)
				if m == nil {
					t.Errorf("action not pinned to a commit with its version: %s", strings.TrimSpace(line))
					continue
				}
				if a := templates.Actions[m[1]]; a.Commit != m[2] || a.Version != m[3] {
					t.Errorf("%s is not the pinned %v", strings.TrimSpace(line), a)
				}
			}
		})
	}
}
