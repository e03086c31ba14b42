package reproduce_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/index"
	"github.com/gantrybuild/gantry/targets/internal/testrepo"
	"github.com/gantrybuild/gantry/targets/pipeline"
	"github.com/gantrybuild/gantry/targets/reproduce"
)

func newBuild(t *testing.T, dir string, env map[string]string, log *bytes.Buffer) *pipeline.Build {
	t.Helper()
	// This machine sets GOFLAGS globally; builds must not depend on it.
	t.Setenv("GOFLAGS", "")
	cfg, err := config.Load(config.Project{}, config.MapEnv(env), dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pipeline.New(context.Background(), cfg, pipeline.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// indexDigest is the digest of the image index that index.json names
// version.
func indexDigest(t *testing.T, dir, version string) v1.Hash {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		if d.Annotations[index.RefName] == version {
			return d.Digest
		}
	}
	t.Fatalf("%s/index.json names no %s", dir, version)
	return v1.Hash{}
}

// TestRun builds testdata/assets (a program and, in its kodata/, files
// with a symlink and an executable) twice in clean temp dirs with empty build
// caches (so it compiles the standard library: tens of seconds), then
// checks the digest Run prints against a normal release.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the standard library for two platforms twice")
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // Run's temp dirs, to check they are removed
	repo := testrepo.New(t, "assets", "")
	env := map[string]string{"GANTRY_PLATFORMS": "linux/amd64,linux/arm64"}

	var log bytes.Buffer
	b := newBuild(t, repo.Dir, env, &log)
	err := reproduce.Run(context.Background(), b, &log)
	t.Logf("reproduce.Run output:\n%s", log.String())
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^reproducible: assets (\S+) (sha256:[0-9a-f]{64}) \((\d+) blobs identical\)$`).FindStringSubmatch(log.String())
	if m == nil {
		t.Fatalf("Run printed no `reproducible: assets <version> <digest> (<n> blobs identical)` line")
	}
	if m[1] != b.Version {
		t.Errorf("Run printed version %s, want %s", m[1], b.Version)
	}
	if m[3] == "0" {
		t.Errorf("Run compared %s blobs", m[3])
	}
	if _, err := os.Stat(filepath.Join(repo.Dir, "dist")); err == nil {
		t.Errorf("Run wrote into the repository's output directory %s", filepath.Join(repo.Dir, "dist"))
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) > 0 {
		t.Errorf("Run left %v behind in TMPDIR", left)
	}

	rb := newBuild(t, repo.Dir, env, &bytes.Buffer{})
	if err := rb.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := m[2], indexDigest(t, filepath.Join(repo.Dir, "dist", "oci", "assets"), rb.Version).String(); got != want {
		t.Errorf("Run printed index digest %s, a release of the same commit wrote %s", got, want)
	}
}

// layoutAt builds the amd64 image of the module in dir into out with the
// given SOURCE_DATE_EPOCH and returns its layout.
func layoutAt(t *testing.T, dir, out, epoch string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: builds a testdata app end to end")
	}
	b := newBuild(t, dir, map[string]string{
		"GANTRY_PLATFORMS": "linux/amd64", "GANTRY_OUT": out, "SOURCE_DATE_EPOCH": epoch,
	}, &bytes.Buffer{})
	ctx := context.Background()
	if err := b.Compile(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Layout(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Index(ctx); err != nil {
		t.Fatal(err)
	}
	return b.LayoutDir(b.Config.Images[0])
}

// image returns the only platform image of a layout and its manifest.
func image(t *testing.T, dir string) (v1.Image, *v1.Manifest) {
	t.Helper()
	srcs, err := index.Platforms(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 1 {
		t.Fatalf("%s holds %d platform images, want 1", dir, len(srcs))
	}
	m, err := srcs[0].Image.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return srcs[0].Image, m
}

func TestCompare(t *testing.T) {
	repo := testrepo.New(t, "plain", "")
	a := layoutAt(t, repo.Dir, filepath.Join(t.TempDir(), "dist"), "1700000000")
	same := layoutAt(t, repo.Dir, filepath.Join(t.TempDir(), "deeper", "dist"), "1700000000")
	later := layoutAt(t, repo.Dir, filepath.Join(t.TempDir(), "dist"), "1700000001")

	t.Run("identical", func(t *testing.T) {
		d, err := reproduce.Compare(a, same)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Equal() || d.String() != "identical" {
			t.Fatalf("Compare of two builds of one commit:\n%s", d)
		}
		blobs, _ := filepath.Glob(filepath.Join(a, "blobs", "sha256", "*"))
		if d.Blobs != len(blobs) || d.IndexA == (v1.Hash{}) {
			t.Errorf("Compare counted %d blobs and index %s, want %d blobs and the index", d.Blobs, d.IndexA, len(blobs))
		}
	})

	t.Run("one layer differs", func(t *testing.T) {
		d, err := reproduce.Compare(a, later)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("Compare:\n%s", d)
		if d.Equal() {
			t.Fatal("Compare of builds with different SOURCE_DATE_EPOCH reports them equal")
		}
		if d.IndexA != indexDigest(t, a, versionOf(t, a)) || d.IndexA == d.IndexB {
			t.Errorf("index digests %s vs %s, want the two different indexes", d.IndexA, d.IndexB)
		}
		_, ma := image(t, a)
		_, mb := image(t, later)
		if len(ma.Layers) != len(mb.Layers) || len(ma.Layers) < 2 {
			t.Fatalf("%d vs %d layers, want the same number (base and app)", len(ma.Layers), len(mb.Layers))
		}
		// The static base is the same (its mtimes are fixed); the app layer
		// holds the created time.
		for i := range len(ma.Layers) - 1 {
			if ma.Layers[i].Digest != mb.Layers[i].Digest {
				t.Errorf("base layer %d differs: %s vs %s", i, ma.Layers[i].Digest, mb.Layers[i].Digest)
			}
		}
		last := len(ma.Layers) - 1
		la, lb := ma.Layers[last].Digest, mb.Layers[last].Digest
		want := []string{
			"blob only in the first build: " + la.String(),
			"blob only in the second build: " + lb.String(),
			"blob only in the first build: " + ma.Config.Digest.String(),
			fmt.Sprintf("linux/amd64: config differs (%s vs %s)", ma.Config.Digest, mb.Config.Digest),
			fmt.Sprintf("linux/amd64: layer %d differs (%s vs %s): ", last, la, lb),
		}
		got := strings.Join(d.Differences, "\n")
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("differences do not mention %q", w)
			}
		}
		var layerLine string
		for _, l := range d.Differences {
			if strings.HasPrefix(l, fmt.Sprintf("linux/amd64: layer %d differs", last)) {
				layerLine = l
			}
		}
		for _, w := range []string{"usr/local/bin/plain (", "mtime 1700000000 ", "mtime 1700000001 "} {
			if !strings.Contains(layerLine, w) {
				t.Errorf("layer difference %q does not mention %q", layerLine, w)
			}
		}
		if !strings.Contains(d.String(), "index "+d.IndexA.String()+" vs "+d.IndexB.String()) {
			t.Errorf("String() = %q, want it to name both indexes", d.String())
		}
	})
}

// versionOf is the version label of the layout's platform images.
func versionOf(t *testing.T, dir string) string {
	t.Helper()
	srcs, err := index.Platforms(dir)
	if err != nil || len(srcs) == 0 {
		t.Fatalf("reading %s: %v", dir, err)
	}
	return srcs[0].Version
}
