package push_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/registrytest"
	"github.com/gantrybuild/gantry/targets/internal/testrepo"
	"github.com/gantrybuild/gantry/targets/pipeline"
	"github.com/gantrybuild/gantry/targets/push"
)

func TestMain(m *testing.M) { ocitest.Main(m) }

// release runs pipeline.Release for the app in dir with env as the only
// environment Gantry reads, and returns what it wrote for a person (log)
// and for a script (stdout).
func release(t testing.TB, dir string, env map[string]string) (log, stdout string, err error) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: builds and releases a testdata app end to end")
	}
	return run(t, dir, env, (*pipeline.Build).Release)
}

// run runs one step of a pipeline.Build for the app in dir with env as
// the only environment Gantry reads, and returns what it wrote for a
// person (log) and for a script (stdout).
func run(t testing.TB, dir string, env map[string]string, step func(*pipeline.Build, context.Context) error) (log, stdout string, err error) {
	t.Helper()
	cfg, err := config.Load(config.Project{}, config.MapEnv(env), dir)
	if err != nil {
		t.Fatal(err)
	}
	var logBuf, outBuf bytes.Buffer
	b, err := pipeline.New(context.Background(), cfg, pipeline.Options{Log: &logBuf, Out: &outBuf})
	if err != nil {
		t.Fatal(err)
	}
	err = step(b, context.Background())
	checkHumanOutput(t, logBuf.String())
	return logBuf.String(), outBuf.String(), err
}

// checkHumanOutput checks what release prints for a person: no trailing
// spaces and no raw tabs (columns are aligned with spaces).
func checkHumanOutput(t testing.TB, log string) {
	t.Helper()
	for i, line := range strings.Split(log, "\n") {
		if strings.TrimRight(line, " ") != line || strings.Contains(line, "\t") {
			t.Errorf("output line %d has trailing spaces or a tab: %q", i+1, line)
		}
	}
}

// TestReleasePushes builds the example app at a release tag with a
// destination set: release ends with the push, writes metadata.json and the
// GitHub Actions outputs; a second release uploads nothing.
func TestReleasePushes(t *testing.T) {
	repo := testrepo.New(t, "hello", "")
	repo.Tag(t, "v1.2.3")
	reg := registrytest.Start(t)
	proxy := registrytest.NewProxy(t, reg.Host, 1)
	gh := t.TempDir()
	env := map[string]string{
		"GANTRY_REPO":         proxy.Repo("hello"),
		"GANTRY_PROGRESS":     "plain",
		"GITHUB_ACTIONS":      "true",
		"GITHUB_OUTPUT":       filepath.Join(gh, "output"),
		"GITHUB_STEP_SUMMARY": filepath.Join(gh, "summary.md"),
	}
	out, stdout, err := release(t, repo.Dir, env)
	if err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	t.Logf("release output:\n%s", out)

	raw, err := os.ReadFile(filepath.Join(repo.Dir, "dist", "metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta push.Metadata
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	img := meta.Images[0]
	if img.Version != "v1.2.3" || len(img.Platforms) != 2 || strings.Join(img.Tags, ",") != "v1.2.3,1.2.3,1.2,1,latest" {
		t.Errorf("metadata.json: %s", raw)
	}
	ref, _ := name.ParseReference(reg.Repo("hello:latest"))
	d, err := remote.Head(ref)
	if err != nil || d.Digest.String() != img.Digest {
		t.Errorf("hello:latest = %v (%v), metadata says %s", d, err, img.Digest)
	}
	for _, p := range img.Platforms {
		arch := strings.TrimPrefix(p.Platform, "linux/")
		ref, _ := name.ParseReference(reg.Repo("hello:1.2-" + arch))
		if d, err := remote.Head(ref); err != nil || d.Digest.String() != p.Digest {
			t.Errorf("hello:1.2-%s = %v (%v), want %s", arch, d, err, p.Digest)
		}
	}

	outputs, _ := os.ReadFile(env["GITHUB_OUTPUT"])
	for _, want := range []string{"digest=" + img.Digest + "\n", "reference=" + img.Reference + "\n", proxy.Repo("hello:latest") + "\n", "metadata<<"} {
		if !strings.Contains(string(outputs), want) {
			t.Errorf("GITHUB_OUTPUT lacks %q:\n%s", want, outputs)
		}
	}
	// What a script reads, IMG=$(go tool mage release), is the pushed
	// reference and nothing else.
	if want := img.Reference + "\n"; stdout != want {
		t.Errorf("release wrote %q for a script, want %q", stdout, want)
	}
	if img.Size >= img.TotalSize || img.Platforms[0].Size >= img.Platforms[0].TotalSize {
		t.Errorf("metadata.json sizes: index %d (content %d), platform %d (content %d); want the manifests' own sizes below the content's", img.Size, img.TotalSize, img.Platforms[0].Size, img.Platforms[0].TotalSize)
	}
	summary, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
	if !strings.Contains(string(summary), "| hello v1.2.3 | `"+img.Reference+"` |") {
		t.Errorf("GITHUB_STEP_SUMMARY:\n%s", summary)
	}

	// The same release again uploads no blob and puts no manifest.
	proxy.ResetCounts()
	if out, _, err := release(t, repo.Dir, env); err != nil {
		t.Fatalf("second release: %v\n%s", err, out)
	}
	if c := proxy.Counts(); c.UploadStarts+c.BlobPatches+c.Methods["PUT"] != 0 {
		t.Errorf("second release: %d upload starts, %d PATCH, %d PUT; want none", c.UploadStarts, c.BlobPatches, c.Methods["PUT"])
	}
}

// TestReleaseOffline: with no destination, release does not push.
func TestReleaseOffline(t *testing.T) {
	repo := testrepo.New(t, "plain", "")
	out, stdout, err := release(t, repo.Dir, nil)
	if err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	// What a script reads is the layout and its index digest.
	raw, err := os.ReadFile(filepath.Join(repo.Dir, "dist", "oci", "plain", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ij struct {
		Manifests []struct {
			MediaType, Digest string
			Annotations       map[string]string
		}
	}
	if err := json.Unmarshal(raw, &ij); err != nil {
		t.Fatal(err)
	}
	var indexDigest string
	for _, m := range ij.Manifests {
		if m.MediaType == "application/vnd.oci.image.index.v1+json" && !strings.HasPrefix(m.Annotations["org.opencontainers.image.ref.name"], "sha256-") {
			indexDigest = m.Digest
		}
	}
	if want := filepath.Join(repo.Dir, "dist", "oci", "plain") + "@" + indexDigest + "\n"; indexDigest == "" || stdout != want {
		t.Errorf("offline release wrote %q for a script, want %q", stdout, want)
	}
	if strings.Contains(out, "pushed") {
		t.Errorf("release without a destination pushed:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(repo.Dir, "dist", "metadata.json")); err == nil {
		t.Error("release without a destination wrote metadata.json")
	}
}

// pushLayouts runs pipeline.Push for the app in dir with env as the only
// environment Gantry reads.
func pushLayouts(t testing.TB, dir string, env map[string]string) (string, error) {
	t.Helper()
	log, _, err := run(t, dir, env, (*pipeline.Build).Push)
	return log, err
}

// TestPushAfterNewCommit: a layout built before the last commit is not
// pushed as if it were HEAD's build unless the user says so; a layout
// carried to a directory without git (a CI job's artifacts) pushes.
func TestPushAfterNewCommit(t *testing.T) {
	repo := testrepo.New(t, "plain", "")
	env := map[string]string{"GANTRY_PLATFORMS": "linux/amd64", "GANTRY_SBOM": "0"}
	if out, _, err := release(t, repo.Dir, env); err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	head := repo.Commit(t, "a new commit")
	reg := registrytest.Start(t)
	env["GANTRY_REPO"] = reg.Repo("plain")
	env["GANTRY_PROGRESS"] = "quiet"

	out, err := pushLayouts(t, repo.Dir, env)
	if err == nil {
		t.Fatalf("push of a layout built before the last commits succeeded:\n%s", out)
	}
	for _, want := range []string{"was built from commit ", "but the work tree is at " + head.String()[:12], "GANTRY_PUSH_STALE=1", "nothing was pushed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if r, err := name.NewRepository(reg.Repo("plain")); err == nil {
		if tags, _ := remote.List(r); len(tags) > 0 {
			t.Errorf("a refused push tagged %v", tags)
		}
	}

	env["GANTRY_PUSH_STALE"] = "1"
	env["GANTRY_PROGRESS"] = "plain"
	out, err = pushLayouts(t, repo.Dir, env)
	if err != nil {
		t.Fatalf("push with GANTRY_PUSH_STALE=1: %v\n%s", err, out)
	}
	if !strings.Contains(out, "not the work tree's HEAD "+head.String()) {
		t.Errorf("a stale push does not say it was stale:\n%s", out)
	}
	delete(env, "GANTRY_PUSH_STALE")

	// The merge job of a split pipeline: the same sources, no git.
	bare := filepath.Join(t.TempDir(), "plain")
	if err := testrepo.CopyTree(filepath.Join(testrepo.TestdataDir(), "plain"), bare); err != nil {
		t.Fatal(err)
	}
	if err := testrepo.CopyTree(filepath.Join(repo.Dir, "dist", "oci"), filepath.Join(bare, "dist", "oci")); err != nil {
		t.Fatal(err)
	}
	env["GANTRY_REPO"] = reg.Repo("artifacts")
	if out, err := pushLayouts(t, bare, env); err != nil {
		t.Errorf("push from a directory without git: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(bare, "dist", "metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta push.Metadata
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	if img := meta.Images[0]; len(img.References) == 0 || tagDigest(img.References[0]) != img.Digest {
		t.Errorf("push from a directory without git: metadata %s, but the registry disagrees", raw)
	}
}

// tagDigest is the digest ref names in the registry ("" when none).
func tagDigest(ref string) string {
	r, err := name.ParseReference(ref)
	if err != nil {
		return ""
	}
	d, err := remote.Head(r)
	if err != nil {
		return ""
	}
	return d.Digest.String()
}
