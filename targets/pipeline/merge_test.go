package pipeline_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/testrepo"
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
	if err != nil || got != ocitest.MachineFor["arm"] {
		t.Errorf("worker binary machine = %v (%v), want ARM", got, err)
	}
}
