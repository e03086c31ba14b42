package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/testrepo"
	"github.com/gantrybuild/gantry/targets/pipeline"
)

// TestMergePerPlatformLayouts builds each platform into its own output
// directory, as two CI runners would, and merges them into one index.
func TestMergePerPlatformLayouts(t *testing.T) {
	repo := testrepo.New(t, "plain", "")
	full := mustBuild(t, repo.Dir, config.Project{}, nil)
	release(t, full)
	want := refNames(indexJSON(t, filepath.Join(repo.Dir, "dist", "oci", "plain")))[full.Version]

	var outs []string
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		out := filepath.Join(t.TempDir(), "dist")
		b := mustBuild(t, repo.Dir, config.Project{}, map[string]string{"GANTRY_PLATFORMS": p, "GANTRY_OUT": out})
		ctx := context.Background()
		if err := b.Compile(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if err := b.Layout(ctx); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
	}
	mergeOut := filepath.Join(t.TempDir(), "dist")
	m := mustBuild(t, repo.Dir, config.Project{}, map[string]string{
		"GANTRY_OUT": mergeOut, "GANTRY_INDEX_FROM": strings.Join(outs, ","),
	})
	if err := m.Index(context.Background()); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(mergeOut, "oci", "plain")
	ocitest.ValidateLayout(t, dir)
	got := refNames(indexJSON(t, dir))[full.Version]
	if got.Digest != want.Digest {
		t.Errorf("merged index %s differs from the single-runner index %s", got.Digest, want.Digest)
	}
}

func TestMergeRefusesDifferentRevisions(t *testing.T) {
	repo := testrepo.New(t, "plain", "")
	ctx := context.Background()
	var outs []string
	for i, p := range []string{"linux/amd64", "linux/arm64"} {
		if i == 1 {
			repo.Write(t, "later.go", "package main\n")
			repo.Commit(t, "later")
		}
		out := filepath.Join(t.TempDir(), "dist")
		b := mustBuild(t, repo.Dir, config.Project{}, map[string]string{"GANTRY_PLATFORMS": p, "GANTRY_OUT": out})
		if err := b.Compile(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if err := b.Layout(ctx); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
	}
	m := mustBuild(t, repo.Dir, config.Project{}, map[string]string{
		"GANTRY_OUT": filepath.Join(t.TempDir(), "dist"), "GANTRY_INDEX_FROM": strings.Join(outs, ","),
	})
	err := m.Index(ctx)
	if err == nil || !strings.Contains(err.Error(), "different builds") {
		t.Fatalf("merging layouts of two commits: err = %v, want a refusal", err)
	}
}

// TestSeveralImages builds one image per cmd/* of a module.
func TestSeveralImages(t *testing.T) {
	repo := testrepo.New(t, "multi", "")
	b := mustBuild(t, repo.Dir, config.Project{Images: []config.Image{
		{Main: "./cmd/api"},
		{Main: "./cmd/worker", Name: "multi-worker", Platforms: []string{"linux/arm/v7"}, Base: "scratch"},
	}}, nil)
	release(t, b)
	api := filepath.Join(repo.Dir, "dist", "oci", "api")
	worker := filepath.Join(repo.Dir, "dist", "oci", "multi-worker")
	ocitest.ValidateLayout(t, api)
	ocitest.ValidateLayout(t, worker)
	img := platformImage(t, worker, "linux/arm/v7")
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Errorf("scratch-based image has %d layers, want 1", len(layers))
	}
	if out := runBinary(t, platformImage(t, api, "linux/amd64"), "usr/local/bin/api", ""); !strings.HasPrefix(out, "api v0.0.0-") {
		t.Errorf("api printed %q, want a pseudo-version", out)
	}
	got, err := ocitest.ELFMachine(ocitest.File(t, img, "usr/local/bin/multi-worker"))
	if err != nil || got != ocitest.MachineFor("arm") {
		t.Errorf("worker binary machine = %v (%v), want ARM", got, err)
	}
}

// buildLeg compiles and lays out one platform into out, as a split
// pipeline's build job does.
func buildLeg(t *testing.T, dir, plat, out string) {
	t.Helper()
	b := mustBuild(t, dir, config.Project{}, map[string]string{"GANTRY_PLATFORMS": plat, "GANTRY_OUT": out})
	ctx := context.Background()
	if err := b.Compile(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Layout(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestMergeReleaseMatchesRelease is a split pipeline's merge job: release
// with GANTRY_INDEX_FROM (a glob over the downloaded layouts, which lists
// them in another order than the configured platforms) writes the index,
// SBOMs and provenance a single-runner release writes, byte for byte.
func TestMergeReleaseMatchesRelease(t *testing.T) {
	repo := testrepo.New(t, "plain", "")
	single := filepath.Join(t.TempDir(), "dist")
	release(t, mustBuild(t, repo.Dir, config.Project{}, map[string]string{"GANTRY_OUT": single}))

	layouts := t.TempDir()
	buildLeg(t, repo.Dir, "linux/arm64", filepath.Join(layouts, "0"))
	buildLeg(t, repo.Dir, "linux/amd64", filepath.Join(layouts, "1"))
	merged := filepath.Join(t.TempDir(), "dist")
	m := mustBuild(t, repo.Dir, config.Project{}, map[string]string{"GANTRY_OUT": merged, "GANTRY_INDEX_FROM": filepath.Join(layouts, "*")})
	release(t, m)

	ocitest.ValidateLayout(t, filepath.Join(merged, "oci", "plain"))
	want := refNames(indexJSON(t, filepath.Join(single, "oci", "plain")))
	got := refNames(indexJSON(t, filepath.Join(merged, "oci", "plain")))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged layout's index.json differs from the single-runner one (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(contents(t, filepath.Join(single, "sbom")), contents(t, filepath.Join(merged, "sbom"))); diff != "" {
		t.Errorf("merged SBOMs and provenance differ from the single-runner ones (-want +got):\n%s", diff)
	}
}

// TestMergeRefusesDirtyBuildJob: a build job whose tree had uncommitted
// changes wrote a -dirty version; the clean merge job does not publish it.
func TestMergeRefusesDirtyBuildJob(t *testing.T) {
	repo := testrepo.New(t, "plain", "")
	layouts := t.TempDir()
	repo.Write(t, "generated.go", "package main\n")
	buildLeg(t, repo.Dir, "linux/amd64", filepath.Join(layouts, "0"))
	buildLeg(t, repo.Dir, "linux/arm64", filepath.Join(layouts, "1"))
	if err := os.Remove(filepath.Join(repo.Dir, "generated.go")); err != nil {
		t.Fatal(err)
	}
	m := mustBuild(t, repo.Dir, config.Project{}, map[string]string{
		"GANTRY_OUT": filepath.Join(t.TempDir(), "dist"), "GANTRY_INDEX_FROM": filepath.Join(layouts, "*"),
	})
	err := m.Release(context.Background())
	if err == nil || !strings.Contains(err.Error(), "-dirty") || !strings.Contains(err.Error(), "uncommitted changes") {
		t.Fatalf("merging a dirty build job's layout: err = %v, want a refusal naming the dirty version", err)
	}
}

// TestMergeRefusesMissingPlatform: a build job that did not run (or whose
// artifact did not arrive) fails the merge instead of shipping fewer
// platforms.
func TestMergeRefusesMissingPlatform(t *testing.T) {
	repo := testrepo.New(t, "plain", "")
	layouts := t.TempDir()
	buildLeg(t, repo.Dir, "linux/amd64", filepath.Join(layouts, "0"))
	m := mustBuild(t, repo.Dir, config.Project{}, map[string]string{
		"GANTRY_OUT": filepath.Join(t.TempDir(), "dist"), "GANTRY_INDEX_FROM": filepath.Join(layouts, "*"),
	})
	err := m.Release(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no merged layout holds linux/arm64") {
		t.Fatalf("merging without arm64: err = %v, want a refusal naming linux/arm64", err)
	}
}

// contents maps each file in dir to its content.
func contents(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

// TestGoCachesInTheTreeAreNotChanges: GitLab can cache only paths inside
// the project, so its jobs point GOPATH and GOCACHE there; what the go
// command keeps in them does not make the tree dirty.
func TestGoCachesInTheTreeAreNotChanges(t *testing.T) {
	skipShort(t)
	repo := testrepo.New(t, "plain", "")
	repo.Write(t, ".cache/go-build/00/entry", "cached\n")
	repo.Write(t, ".go/pkg/mod/cache/download/x", "module\n")
	env := append(os.Environ(), "GOPATH="+filepath.Join(repo.Dir, ".go"), "GOCACHE="+filepath.Join(repo.Dir, ".cache", "go-build"))
	cfg, err := config.Load(config.Project{}, config.MapEnv(nil), repo.Dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pipeline.New(context.Background(), cfg, pipeline.Options{Log: newLog(t), Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CheckClean(); err != nil {
		t.Errorf("go caches in the tree: %v", err)
	}
	repo.Write(t, "notes.txt", "an untracked file\n")
	b, err = pipeline.New(context.Background(), cfg, pipeline.Options{Log: newLog(t), Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CheckClean(); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("an untracked file next to the go caches: err = %v, want it named", err)
	}
}
