package scaffold_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"go.yaml.in/yaml/v3"

	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/registrytest"
	"github.com/gantrybuild/gantry/targets/internal/testrepo"
	"github.com/gantrybuild/gantry/targets/scaffold"
	"github.com/gantrybuild/gantry/targets/sign/keys"
)

// The split pipelines, run as their CI would run them: the commands come
// from the pipeline file `init` writes (nothing here repeats them), each job
// in its own clone of the app, artifacts copied between jobs, pushing to a
// registry on 127.0.0.1 and signing with a key; cosign (v3 and v2) then
// verifies the pushed image's signatures, SBOM and provenance, and the image
// equals what a single-runner `go tool mage release` pushes.

const (
	ciPassword   = "ci-secret"
	githubRemote = "https://github.com/Acme/Shop.git" // github.repository is Acme/Shop
	gitlabRemote = "https://gitlab.com/Acme/Shop.git"
)

// ciApp is an app after `init` with template tmpl, committed and tagged:
// the repository every job checks out.
type ciApp struct {
	origin string
	key    string // cosign.key contents, the COSIGN_PRIVATE_KEY secret
	pub    string // cosign.pub path
}

func newCIApp(t *testing.T, tmpl string) ciApp {
	t.Helper()
	dir := module(t, "github.com/acme/shop")
	var out bytes.Buffer
	err := scaffold.Init(context.Background(), dir, scaffold.WithTemplate(tmpl),
		scaffold.WithKit(scaffold.Kit{Version: "v0.0.0-00010101000000-000000000000", Dir: kitRoot()}),
		scaffold.WithTidy(true, "GOPROXY=off", "GOFLAGS=-mod=mod"), scaffold.WithOutput(&out))
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out.String())
	}
	r := testrepo.Init(t, dir, "shop")
	r.Tag(t, "v1.4.0")
	keyPath, pubPath, err := keys.WriteKeyPair(filepath.Join(t.TempDir(), "cosign"), []byte(ciPassword))
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	return ciApp{origin: dir, key: string(key), pub: pubPath}
}

// ciEnv is the environment every job starts from: this machine's, offline,
// with the host's module cache (the CI restores it from its cache).
func ciEnv(t *testing.T) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	env["GOMODCACHE"] = strings.TrimSpace(string(out))
	env["GOPROXY"] = "off"
	env["CI"] = "true"
	for _, k := range []string{"GOFLAGS", "GANTRY_REPO", "GANTRY_SIGN_KEY", "GANTRY_SIGN_KEYLESS", "GANTRY_PLATFORMS", "GANTRY_INDEX_FROM", "COSIGN_PASSWORD", "GITHUB_ACTIONS", "GITHUB_OUTPUT"} {
		delete(env, k)
	}
	return env
}

// checkout clones the app into a new directory, as a CI checkout does
// (full history and tags, origin on the forge).
func checkout(t *testing.T, app ciApp, remoteURL string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "checkout")
	for _, args := range [][]string{
		{"clone", "--quiet", "--no-hardlinks", app.origin, dir},
		{"-C", dir, "remote", "set-url", "origin", remoteURL},
	} {
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return dir
}

// shell runs a job's script with bash -e in dir, as both CI systems do.
func shell(t *testing.T, job, dir string, env map[string]string, script string) {
	t.Helper()
	cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", script)
	cmd.Dir = dir
	for _, k := range slices.Sorted(maps.Keys(env)) {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("job %s: %s: %v\n%s", job, script, err, out)
	}
	t.Logf("job %s: %s\n%s", job, script, lastLines(string(out), 12))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// copyDir copies a tree of regular files (an artifact upload or download).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// --- GitHub Actions ---------------------------------------------------

type ghStep struct {
	Name string            `yaml:"name"`
	ID   string            `yaml:"id"`
	Uses string            `yaml:"uses"`
	With map[string]string `yaml:"with"`
	Env  map[string]string `yaml:"env"`
	Run  string            `yaml:"run"`
}

type ghJob struct {
	If       string `yaml:"if"`
	Needs    string `yaml:"needs"`
	Strategy struct {
		Matrix map[string]string `yaml:"matrix"`
	} `yaml:"strategy"`
	Outputs map[string]string `yaml:"outputs"`
	Steps   []ghStep          `yaml:"steps"`
}

type ghWorkflow struct {
	Env  map[string]string `yaml:"env"`
	Jobs map[string]ghJob  `yaml:"jobs"`
}

var ghExpr = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// ghContext answers the expressions the workflow uses: contexts by name,
// and the few compound expressions by their text. An expression it does not
// know fails the test, so the workflow cannot grow one this run ignores.
type ghContext map[string]string

func (c ghContext) eval(t *testing.T, expr string) string {
	t.Helper()
	if v, ok := c[expr]; ok {
		return v
	}
	isSet := func(k string) bool { return c[k] != "" }
	switch expr {
	case "github.event_name == 'push'":
		return strconv.FormatBool(c["github.event_name"] == "push")
	case "github.event_name == 'pull_request'":
		return strconv.FormatBool(c["github.event_name"] == "pull_request")
	case "secrets.COSIGN_PRIVATE_KEY == '' && '1' || '0'":
		if isSet("secrets.COSIGN_PRIVATE_KEY") {
			return "0"
		}
		return "1"
	case "secrets.COSIGN_PRIVATE_KEY != '' && 'env://COSIGN_PRIVATE_KEY' || ''":
		if isSet("secrets.COSIGN_PRIVATE_KEY") {
			return "env://COSIGN_PRIVATE_KEY"
		}
		return ""
	}
	if strings.HasPrefix(expr, "secrets.") || strings.HasPrefix(expr, "steps.") {
		return "" // an unset secret or output is empty
	}
	t.Fatalf("the workflow uses ${{ %s }}, which this test does not evaluate: teach ghContext.eval", expr)
	return ""
}

func (c ghContext) expand(t *testing.T, s string) string {
	t.Helper()
	return ghExpr.ReplaceAllStringFunc(s, func(m string) string {
		return c.eval(t, ghExpr.FindStringSubmatch(m)[1])
	})
}

// runGitHub runs the workflow's jobs for a push of the default branch, in
// the order of their needs, and returns the release job's outputs and
// clone.
func runGitHub(t *testing.T, app ciApp, wf ghWorkflow, base map[string]string, secrets map[string]string) (map[string]string, string) {
	t.Helper()
	ctx := ghContext{"github.event_name": "push", "github.actor": "octocat", "github.repository": "Acme/Shop"}
	for k, v := range secrets {
		ctx["secrets."+k] = v
	}
	artifacts := map[string]string{} // name -> directory
	done := map[string]bool{}
	var ran []string
	for len(done) < len(wf.Jobs) {
		progressed := false
		for _, name := range slices.Sorted(maps.Keys(wf.Jobs)) {
			j := wf.Jobs[name]
			if done[name] || (j.Needs != "" && !done[j.Needs]) {
				continue
			}
			done[name], progressed = true, true
			if j.If != "" && ctx.eval(t, j.If) != "true" {
				continue
			}
			ran = append(ran, name)
			legs := []ghContext{{}}
			for k, v := range j.Strategy.Matrix {
				m := ghExpr.FindStringSubmatch(v)
				if m == nil || !strings.HasPrefix(m[1], "fromJSON(") {
					t.Fatalf("job %s: matrix %s = %q, want it read from a job's output", name, k, v)
				}
				var values []string
				if err := json.Unmarshal([]byte(ctx.eval(t, strings.TrimSuffix(strings.TrimPrefix(m[1], "fromJSON("), ")"))), &values); err != nil {
					t.Fatalf("job %s: matrix %s: %v", name, k, err)
				}
				legs = nil
				for i, v := range values {
					legs = append(legs, ghContext{"matrix." + k: v, "strategy.job-index": strconv.Itoa(i)})
				}
			}
			for _, leg := range legs {
				jc := maps.Clone(ctx)
				maps.Copy(jc, leg)
				outputs, dir := runGitHubJob(t, name, app, wf, j, jc, base, artifacts)
				if name == "release" {
					ctx["release.dir"] = dir
				}
				for k, v := range outputs {
					ctx["needs."+name+".outputs."+k] = v
				}
			}
		}
		if !progressed {
			t.Fatalf("jobs wait on each other: %v", wf.Jobs)
		}
	}
	t.Logf("jobs run: %v", ran)
	if !slices.Contains(ran, "release") {
		t.Fatalf("the release job did not run on a push (ran %v)", ran)
	}
	out := map[string]string{}
	for k, v := range ctx {
		if after, ok := strings.CutPrefix(k, "needs.release.outputs."); ok {
			out[after] = v
		}
	}
	return out, ctx["release.dir"]
}

func runGitHubJob(t *testing.T, name string, app ciApp, wf ghWorkflow, j ghJob, ctx ghContext, base map[string]string, artifacts map[string]string) (map[string]string, string) {
	t.Helper()
	var dir string
	tmp := t.TempDir()
	for i, s := range j.Steps {
		env := maps.Clone(base)
		maps.Copy(env, wf.Env)
		for k, v := range s.Env {
			env[k] = ctx.expand(t, v)
		}
		output := filepath.Join(tmp, fmt.Sprintf("output-%d", i))
		env["GITHUB_OUTPUT"], env["GITHUB_STEP_SUMMARY"] = output, filepath.Join(tmp, "summary")
		env["GITHUB_ACTIONS"], env["GITHUB_REPOSITORY"] = "true", ctx["github.repository"]
		action, _, _ := strings.Cut(s.Uses, "@")
		switch {
		case action == "actions/checkout":
			if s.With["fetch-depth"] != "0" {
				t.Errorf("job %s checks out without fetch-depth: 0 (the version needs tags)", name)
			}
			dir = checkout(t, app, githubRemote)
		case action == "actions/setup-go":
			if s.With["go-version-file"] != "go.mod" {
				t.Errorf("job %s: setup-go reads the Go version from %q, want go.mod", name, s.With["go-version-file"])
			}
		case action == "actions/upload-artifact":
			src := filepath.Join(dir, s.With["path"])
			if entries, err := os.ReadDir(src); err != nil || len(entries) == 0 {
				t.Fatalf("job %s: nothing to upload at %s (%v)", name, s.With["path"], err)
			}
			an := ctx.expand(t, s.With["name"])
			if _, dup := artifacts[an]; dup {
				t.Fatalf("job %s: artifact %s uploaded twice", name, an)
			}
			artifacts[an] = filepath.Join(t.TempDir(), an)
			copyDir(t, src, artifacts[an])
		case action == "actions/download-artifact":
			var matched []string
			for an := range artifacts {
				if ok, _ := path.Match(s.With["pattern"], an); ok {
					matched = append(matched, an)
				}
			}
			if len(matched) == 0 {
				t.Fatalf("job %s: no artifact matches %s", name, s.With["pattern"])
			}
			for _, an := range matched {
				// As download-artifact does: each artifact in a directory
				// named after it, unless there is only one.
				dst := filepath.Join(dir, s.With["path"], an)
				if len(matched) == 1 {
					dst = filepath.Join(dir, s.With["path"])
				}
				copyDir(t, artifacts[an], dst)
			}
		case s.Uses != "":
			t.Fatalf("job %s uses %s, which this test does not run", name, s.Uses)
		default:
			shell(t, name, dir, env, ctx.expand(t, s.Run))
			if s.ID != "" {
				raw, _ := os.ReadFile(output)
				for _, line := range strings.Split(string(raw), "\n") {
					if k, v, ok := strings.Cut(line, "="); ok {
						ctx["steps."+s.ID+".outputs."+k] = v
					}
				}
			}
		}
	}
	out := map[string]string{}
	for k, v := range j.Outputs {
		out[k] = ctx.expand(t, v)
	}
	return out, dir
}

// --- GitLab CI --------------------------------------------------------

type glJob struct {
	Stage     string            `yaml:"stage"`
	Needs     []string          `yaml:"needs"`
	Variables map[string]string `yaml:"variables"`
	Rules     []struct {
		If   string `yaml:"if"`
		When string `yaml:"when"`
	} `yaml:"rules"`
	Parallel struct {
		Matrix []map[string]string `yaml:"matrix"`
	} `yaml:"parallel"`
	Script    []string `yaml:"script"`
	Artifacts struct {
		Paths []string `yaml:"paths"`
	} `yaml:"artifacts"`
}

// glRule answers the rules the pipeline uses, by their text.
func glRule(t *testing.T, cond string, env map[string]string) bool {
	t.Helper()
	switch cond {
	case "$CI_COMMIT_TAG || $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH":
		return env["CI_COMMIT_TAG"] != "" || env["CI_COMMIT_BRANCH"] == env["CI_DEFAULT_BRANCH"]
	}
	t.Fatalf("the pipeline has the rule %q, which this test does not evaluate: teach glRule", cond)
	return false
}

// runGitLab runs the pipeline's jobs for a push of the default branch,
// stage by stage, each parallel:matrix entry a job of its own; a job gets
// the artifacts of the jobs it needs. It returns the release job's clone.
func runGitLab(t *testing.T, app ciApp, pipeline []byte, base map[string]string) string {
	t.Helper()
	var top map[string]yaml.Node
	if err := yaml.Unmarshal(pipeline, &top); err != nil {
		t.Fatal(err)
	}
	var stages []string
	var globals map[string]string
	jobs := map[string]glJob{}
	for k, n := range top {
		var err error
		switch {
		case k == "stages":
			err = n.Decode(&stages)
		case k == "variables":
			err = n.Decode(&globals)
		case k == "workflow" || strings.HasPrefix(k, "."):
		default:
			var j glJob
			err = n.Decode(&j)
			jobs[k] = j
		}
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	expand := func(s string, env map[string]string) string {
		return os.Expand(s, func(k string) string { return env[k] })
	}
	artifacts := map[string][]string{} // job -> artifact directories (one per matrix entry)
	var releaseDir string
	for _, stage := range stages {
		for _, name := range slices.Sorted(maps.Keys(jobs)) {
			j := jobs[name]
			if j.Stage != stage {
				continue
			}
			entries := j.Parallel.Matrix
			if len(entries) == 0 {
				entries = []map[string]string{nil}
			}
			for _, m := range entries {
				dir := checkout(t, app, gitlabRemote)
				env := maps.Clone(base)
				env["CI_PROJECT_DIR"] = dir
				for _, vars := range []map[string]string{globals, j.Variables, m} {
					for _, k := range slices.Sorted(maps.Keys(vars)) {
						env[k] = expand(vars[k], env)
					}
				}
				run := len(j.Rules) == 0
				for _, r := range j.Rules {
					if r.If == "" || glRule(t, r.If, env) {
						run = r.When != "never"
						break
					}
				}
				if !run {
					continue
				}
				// The CI cache restores the module cache into the project
				// (GOPATH points there); the build cache stays this
				// machine's, which only makes the jobs faster.
				if gp := env["GOPATH"]; strings.HasPrefix(gp, dir) {
					if err := os.MkdirAll(filepath.Join(gp, "pkg", "mod", "cache"), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(gp, "pkg", "mod", "cache", "restored"), []byte("from the CI cache\n"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				delete(env, "GOCACHE")
				for _, need := range j.Needs {
					for _, a := range artifacts[need] {
						copyDir(t, a, dir)
					}
				}
				shell(t, name, dir, env, strings.Join(j.Script, "\n"))
				for _, p := range j.Artifacts.Paths {
					a := t.TempDir()
					copyDir(t, filepath.Join(dir, p), filepath.Join(a, p))
					artifacts[name] = append(artifacts[name], a)
				}
				if name == "release" {
					releaseDir = dir
				}
			}
		}
	}
	if releaseDir == "" {
		t.Fatal("the release job did not run on the default branch")
	}
	return releaseDir
}

// --- checks -------------------------------------------------------------

// singleRelease is `go -C magefiles tool mage -w .. release` (init's layout) on one runner, the reference a
// split pipeline must match.
func singleRelease(t *testing.T, app ciApp, env map[string]string, remoteURL, repo string) string {
	t.Helper()
	dir := checkout(t, app, remoteURL)
	env = maps.Clone(env)
	maps.Copy(env, map[string]string{
		"GANTRY_REPO": repo, "GANTRY_SIGN_KEY": "env://COSIGN_PRIVATE_KEY", "COSIGN_PRIVATE_KEY": app.key, "COSIGN_PASSWORD": ciPassword,
	})
	shell(t, "single", dir, env, scaffold.Mage+" release")
	return dir
}

// cosigns are the cosign CLIs on PATH that verify the pushed image: both
// under CI=true (.ci/run installs them), else those installed; none skips.
func cosigns(t *testing.T) []string {
	t.Helper()
	var found, missing []string
	for _, tool := range []string{"cosign-v3", "cosign-v2"} {
		if p, err := exec.LookPath(tool); err == nil {
			found = append(found, p)
		} else {
			missing = append(missing, tool)
		}
	}
	if len(found) == 0 || (len(missing) > 0 && os.Getenv("CI") == "true") {
		ocitest.SkipMissing(t, missing...)
	}
	return found
}

// verifyPushed checks the pushed index and each platform image with
// cosign: signatures, the SPDX SBOM, and each platform's SLSA provenance.
func verifyPushed(t *testing.T, app ciApp, ref string) {
	t.Helper()
	tools := cosigns(t)
	root := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(root, []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatalf("reading the pushed index %s: %v", ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	checks := [][]string{{"verify", ref}, {"verify-attestation", "--type", "spdxjson", ref}}
	for _, m := range im.Manifests {
		p := r.Context().Digest(m.Digest.String()).String()
		checks = append(checks,
			[]string{"verify", p},
			[]string{"verify-attestation", "--type", "spdxjson", p},
			[]string{"verify-attestation", "--type", "slsaprovenance1", p})
	}
	if len(im.Manifests) != 2 {
		t.Errorf("the pushed index lists %d manifests, want the 2 platforms", len(im.Manifests))
	}
	home := t.TempDir()
	for _, cosign := range tools {
		for _, c := range checks {
			args := append([]string{c[0], "--key", app.pub, "--insecure-ignore-tlog=true", "--trusted-root", root}, c[1:]...)
			cmd := exec.Command(cosign, args...)
			cmd.Env = append(os.Environ(), "HOME="+home, "DOCKER_CONFIG="+home)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("%s %s: %v\n%s", filepath.Base(cosign), strings.Join(args, " "), err, lastLines(string(out), 8))
				continue
			}
			t.Logf("%s %s %s: verified", filepath.Base(cosign), c[0], strings.Join(c[1:], " "))
		}
	}
}

// sboms reads the SBOMs and provenance a release left in dist/sbom.
func sboms(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "dist", "sbom"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, "dist", "sbom", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	if len(out) == 0 {
		t.Fatalf("no SBOM in %s/dist/sbom", dir)
	}
	return out
}

func TestSplitPipelinesShipWhatReleaseShips(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every job of two CI pipelines")
	}
	reg := registrytest.Start(t)
	t.Run("github-split", func(t *testing.T) {
		app := newCIApp(t, "github-split")
		raw, err := os.ReadFile(filepath.Join(app.origin, ".github", "workflows", "image.yml"))
		if err != nil {
			t.Fatal(err)
		}
		var wf ghWorkflow
		if err := yaml.Unmarshal(raw, &wf); err != nil {
			t.Fatal(err)
		}
		if wf.Env["REGISTRY"] != "ghcr.io" {
			t.Fatalf("the workflow's REGISTRY is %q, want ghcr.io", wf.Env["REGISTRY"])
		}
		wf.Env["REGISTRY"] = reg.Host // the one setting a user changes for another registry
		base := ciEnv(t)
		want := singleRelease(t, app, base, githubRemote, reg.Repo("acme/shop"))
		out, dir := runGitHub(t, app, wf, base, map[string]string{
			"GITHUB_TOKEN": "token", "COSIGN_PRIVATE_KEY": app.key, "COSIGN_PASSWORD": ciPassword,
		})
		ref := out["reference"]
		if !strings.HasPrefix(ref, reg.Repo("acme/shop")+"@sha256:") {
			t.Fatalf("the release job's reference output is %q, want %s@sha256:… (the repository lower-cased)", ref, reg.Repo("acme/shop"))
		}
		compareWithSingle(t, want, ref)
		if diff := cmp.Diff(sboms(t, want), sboms(t, dir)); diff != "" {
			t.Errorf("the release job's SBOMs and provenance differ from a single-runner release's (-single +split):\n%s", diff)
		}
		verifyPushed(t, app, ref)
	})
	t.Run("gitlab-split", func(t *testing.T) {
		app := newCIApp(t, "gitlab-split")
		raw, err := os.ReadFile(filepath.Join(app.origin, ".gitlab-ci.yml"))
		if err != nil {
			t.Fatal(err)
		}
		base := ciEnv(t)
		want := singleRelease(t, app, base, gitlabRemote, reg.Repo("gitlab/acme/shop"))
		maps.Copy(base, map[string]string{
			"GITLAB_CI": "true", "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main",
			"CI_REGISTRY_IMAGE": reg.Repo("gitlab/Acme/Shop"), "CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": "token",
			"COSIGN_PRIVATE_KEY": app.key, "COSIGN_PASSWORD": ciPassword,
		})
		dir := runGitLab(t, app, raw, base)
		meta, err := os.ReadFile(filepath.Join(dir, "dist", "metadata.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Images []struct{ Reference string } `json:"images"`
		}
		if err := json.Unmarshal(meta, &m); err != nil || len(m.Images) != 1 {
			t.Fatalf("metadata.json: %v\n%s", err, meta)
		}
		ref := m.Images[0].Reference
		if !strings.HasPrefix(ref, reg.Repo("gitlab/acme/shop")+"@sha256:") {
			t.Fatalf("pushed %q, want %s@sha256:… (CI_REGISTRY_IMAGE lower-cased)", ref, reg.Repo("gitlab/acme/shop"))
		}
		compareWithSingle(t, want, ref)
		if diff := cmp.Diff(sboms(t, want), sboms(t, dir)); diff != "" {
			t.Errorf("the merge job's SBOMs and provenance differ from a single-runner release's (-single +split):\n%s", diff)
		}
		verifyPushed(t, app, ref)
	})
}

// compareWithSingle checks that the split pipeline pushed the index a
// single-runner release pushed from the same commit.
func compareWithSingle(t *testing.T, singleDir, ref string) {
	t.Helper()
	meta, err := os.ReadFile(filepath.Join(singleDir, "dist", "metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Images []struct{ Digest string } `json:"images"`
	}
	if err := json.Unmarshal(meta, &m); err != nil || len(m.Images) != 1 {
		t.Fatalf("metadata.json: %v\n%s", err, meta)
	}
	if _, digest, _ := strings.Cut(ref, "@"); digest != m.Images[0].Digest {
		t.Errorf("the split pipeline pushed index %s, a single-runner release %s", digest, m.Images[0].Digest)
	}
}
