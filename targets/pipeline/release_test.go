package pipeline_test

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/index"
	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/testrepo"
	"github.com/gantrybuild/gantry/targets/pipeline"
	"github.com/gantrybuild/gantry/targets/sign/sigtag"
)

func TestReleaseHello(t *testing.T) {
	repo := testrepo.New(t, "hello", "")
	repo.Tag(t, "v1.2.3")
	b := mustBuild(t, repo.Dir, config.Project{}, nil)
	release(t, b)

	dir := filepath.Join(repo.Dir, "dist", "oci", "hello")
	ocitest.ValidateLayout(t, dir)

	refs := refNames(indexJSON(t, dir))
	var got []string
	for r := range refs {
		if !sigtag.Is(r) { // the SBOM referrers' fallback indexes
			got = append(got, r)
		}
	}
	if diff := cmp.Diff([]string{"v1.2.3", "v1.2.3-amd64", "v1.2.3-arm64"}, got, sortStrings); diff != "" {
		t.Errorf("ref names (-want +got):\n%s", diff)
	}
	if refs["v1.2.3"].MediaType != "application/vnd.oci.image.index.v1+json" {
		t.Errorf("v1.2.3 is a %s, want an OCI image index", refs["v1.2.3"].MediaType)
	}

	rev := b.Git.Revision
	wantAnn := map[string]string{
		index.Created:   "2026-11-01T12:00:00Z",
		index.Version:   "v1.2.3",
		index.Revision:  rev,
		index.SourceURL: "https://example.com/org/hello",
		index.Title:     "hello",
	}
	if diff := cmp.Diff(wantAnn, indexAnnotations(t, dir)); diff != "" {
		t.Errorf("index annotations (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		platform string
		machine  elf.Machine
		emulator string
	}{
		{"linux/amd64", elf.EM_X86_64, ""},
		{"linux/arm64", elf.EM_AARCH64, "qemu-aarch64-static"},
	} {
		t.Run(tc.platform, func(t *testing.T) {
			img := platformImage(t, dir, tc.platform)
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantAnn, m.Annotations); diff != "" {
				t.Errorf("manifest annotations (-want +got):\n%s", diff)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := cf.Config.Entrypoint, []string{"/usr/local/bin/hello"}; !cmp.Equal(got, want) {
				t.Errorf("entrypoint = %q, want %q", got, want)
			}
			if cf.Config.User != "65532:65532" {
				t.Errorf("user = %q, want 65532:65532", cf.Config.User)
			}
			if !cf.Created.Time.Equal(testrepo.When()) {
				t.Errorf("created = %v, want the commit time %v", cf.Created.Time, testrepo.When())
			}
			if cf.Config.Labels[index.Revision] != rev {
				t.Errorf("revision label = %q, want %q", cf.Config.Labels[index.Revision], rev)
			}
			bin := ocitest.File(t, img, "usr/local/bin/hello")
			got, err := ocitest.ELFMachine(bin)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.machine {
				t.Errorf("binary is for %v, want %v", got, tc.machine)
			}
			emu := tc.emulator
			if emu != "" {
				ocitest.NeedTool(t, emu)
			}
			out := runBinary(t, img, "usr/local/bin/hello", emu)
			for _, want := range []string{"version=v1.2.3", "revision=" + rev, "built=2026-11-01T12:00:00Z", "goarch=" + strings.TrimPrefix(tc.platform, "linux/")} {
				if !strings.Contains(out, want) {
					t.Errorf("binary printed %q, want it to contain %q", out, want)
				}
			}
		})
	}
}

var sortStrings = cmp.Transformer("sort", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})

// indexAnnotations reads the annotations of the image index named in
// index.json.
func indexAnnotations(t testing.TB, dir string) map[string]string {
	t.Helper()
	root, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range indexJSON(t, dir).Manifests {
		if d.MediaType.IsIndex() {
			idx, err := root.ImageIndex(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			im, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			return im.Annotations
		}
	}
	t.Fatal("no image index in index.json")
	return nil
}

func TestSecondRunWritesNothing(t *testing.T) {
	repo := testrepo.New(t, "plain", "")
	b := mustBuild(t, repo.Dir, config.Project{}, nil)
	release(t, b)
	// go build touches an unchanged binary's mtime on purpose; the layout
	// and the layer cache must not change at all.
	dist := filepath.Join(repo.Dir, "dist", "oci")
	before := snapshot(t, dist)
	time.Sleep(10 * time.Millisecond) // so a rewrite would show in mtimes
	b2 := mustBuild(t, repo.Dir, config.Project{}, nil)
	release(t, b2)
	if diff := cmp.Diff(before, snapshot(t, dist)); diff != "" {
		t.Errorf("a second release on unchanged input changed the layout (-before +after):\n%s", diff)
	}
}

func TestSameDigestAtDifferentPaths(t *testing.T) {
	root := t.TempDir()
	a := testrepo.New(t, "hello", filepath.Join(root, "one", "hello"))
	b := testrepo.New(t, "hello", filepath.Join(root, "two", "deeper", "hello"))
	ba := mustBuild(t, a.Dir, config.Project{}, nil)
	bb := mustBuild(t, b.Dir, config.Project{}, nil)
	if ba.Git.Revision != bb.Git.Revision {
		t.Fatalf("test repos differ: %s vs %s", ba.Git.Revision, bb.Git.Revision)
	}
	release(t, ba)
	release(t, bb)
	ia := refNames(indexJSON(t, filepath.Join(a.Dir, "dist", "oci", "hello")))[ba.Version]
	ib := refNames(indexJSON(t, filepath.Join(b.Dir, "dist", "oci", "hello")))[bb.Version]
	if ia.Digest != ib.Digest || ia.Digest == (v1.Hash{}) {
		t.Errorf("index digests differ between clones: %s vs %s", ia.Digest, ib.Digest)
	}
}

func TestDirtyTree(t *testing.T) {
	repo := testrepo.New(t, "plain", "")
	repo.Write(t, "extra.go", "package main\n")
	b := mustBuild(t, repo.Dir, config.Project{}, nil)
	err := b.Release(context.Background())
	if err == nil || !strings.Contains(err.Error(), "GANTRY_ALLOW_DIRTY=1") {
		t.Fatalf("release of a dirty tree: err = %v, want a refusal naming GANTRY_ALLOW_DIRTY=1", err)
	}
	b = mustBuild(t, repo.Dir, config.Project{}, map[string]string{"GANTRY_ALLOW_DIRTY": "1"})
	release(t, b)
	if !strings.HasSuffix(b.Version, "-dirty") {
		t.Errorf("version = %q, want a -dirty suffix", b.Version)
	}
}

// Release runs vendor:check alongside compile: with a go command whose
// `mod graph` (the module check's build list) waits for a `go
// build` to have started, the release completes (run one after the other,
// the check would give up).
func TestReleaseChecksVendorAlongsideCompile(t *testing.T) {
	skipShort(t)
	real, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	started := filepath.Join(dir, "build-started")
	script := fmt.Sprintf(`#!/bin/sh
if [ "$1" = build ]; then : > '%[1]s'; fi
if [ "$1 $2" = "mod graph" ]; then
	i=0
	while [ ! -e '%[1]s' ]; do
		i=$((i+1)); [ $i -gt 600 ] && { echo "no go build started while the module check ran" >&2; exit 1; }
		sleep 0.05
	done
fi
exec '%[2]s' "$@"
`, started, real)
	goBin := filepath.Join(dir, "go")
	if err := os.WriteFile(goBin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	repo := testrepo.New(t, "hello", "")
	cfg, err := config.Load(config.Project{}, config.MapEnv(nil), repo.Dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pipeline.New(context.Background(), cfg, pipeline.Options{Log: newLog(t), GoBin: goBin})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// An output directory inside the module that Gantry did not create (it
// holds no marker) stays an input of the compile shortcut, but for what
// Gantry writes there: an edit to a package in it rebuilds, and a no-op
// release still skips go build.
func TestOutputInsideModuleStaysAnInput(t *testing.T) {
	skipShort(t)
	repo := testrepo.New(t, "plain", "")
	gen := func(msg string) {
		repo.Write(t, "out/gen/gen.go", "package gen\n\nconst Msg = \""+msg+"\"\n")
	}
	gen("one")
	repo.Write(t, "main.go", "package main\n\nimport \"example.com/plain/out/gen\"\n\nvar version = \"devel\"\n\nfunc main() { println(version, gen.Msg) }\n")
	time.Sleep(2500 * time.Millisecond) // older than the shortcut's racy window
	env := map[string]string{"GANTRY_OUT": "out", "GANTRY_ALLOW_DIRTY": "1"}
	run := func() string {
		t.Helper()
		cfg, err := config.Load(config.Project{}, config.MapEnv(env), repo.Dir)
		if err != nil {
			t.Fatal(err)
		}
		var log bytes.Buffer
		b, err := pipeline.New(context.Background(), cfg, pipeline.Options{Log: &log})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Release(context.Background()); err != nil {
			t.Fatalf("release: %v\n%s", err, log.String())
		}
		return log.String()
	}
	run()
	if _, err := os.Stat(filepath.Join(repo.Dir, "out", config.OutMarker)); err == nil {
		t.Fatalf("out/ held files of the user's but got Gantry's marker")
	}
	if log := run(); !strings.Contains(log, "up to date") {
		t.Errorf("a no-op release with an unmarked output dir ran go build; log:\n%s", log)
	}
	gen("two")
	if log := run(); strings.Contains(log, "up to date") {
		t.Errorf("after an edit under the output dir, the release kept the old binary; log:\n%s", log)
	}
}
