package pipeline_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/index"
	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/sigstoretest"
	"github.com/gantrybuild/gantry/targets/pipeline"
	"github.com/gantrybuild/gantry/targets/platform"
)

// logWriter sends pipeline output to the test log, a line at a time.
type logWriter struct {
	t   testing.TB
	buf *[]byte
}

func newLog(t testing.TB) logWriter { return logWriter{t, new([]byte)} }

func (w logWriter) Write(p []byte) (int, error) {
	*w.buf = append(*w.buf, p...)
	for {
		i := bytes.IndexByte(*w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.t.Log(string((*w.buf)[:i]))
		*w.buf = (*w.buf)[i+1:]
	}
}

// TestMain stops the sigstore servers the keyless tests start once for
// the package.
func TestMain(m *testing.M) { ocitest.Main(m, sigstoretest.StopShared) }

// newBuild loads p for the module in dir with env as the only environment
// Gantry reads.
func newBuild(t testing.TB, dir string, p config.Project, env map[string]string) (*pipeline.Build, error) {
	t.Helper()
	skipShort(t)
	cfg, err := config.Load(p, config.MapEnv(env), dir)
	if err != nil {
		return nil, err
	}
	return pipeline.New(context.Background(), cfg, pipeline.Options{Log: newLog(t)})
}

func mustBuild(t testing.TB, dir string, p config.Project, env map[string]string) *pipeline.Build {
	t.Helper()
	b, err := newBuild(t, dir, p, env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// release runs every step except the dirty check's refusal.
func release(t testing.TB, b *pipeline.Build) {
	t.Helper()
	if err := b.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// indexJSON reads a layout's index.json.
func indexJSON(t testing.TB, dir string) *v1.IndexManifest {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// refNames maps ref.name → descriptor.
func refNames(im *v1.IndexManifest) map[string]v1.Descriptor {
	out := map[string]v1.Descriptor{}
	for _, d := range im.Manifests {
		out[d.Annotations[index.RefName]] = d
	}
	return out
}

// platformImage returns the image for platform p from a layout.
func platformImage(t testing.TB, dir string, p string) v1.Image {
	t.Helper()
	want, err := platform.Parse(p)
	if err != nil {
		t.Fatal(err)
	}
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range indexJSON(t, dir).Manifests {
		if d.Platform != nil && platform.String(*d.Platform) == platform.String(want) {
			img, err := lp.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
	}
	t.Fatalf("no %s image in %s", p, dir)
	return nil
}

// runBinary extracts path from img into a temp file and runs it, under
// emulator when given.
func runBinary(t testing.TB, img v1.Image, path string, emulator string) string {
	t.Helper()
	data := ocitest.File(t, img, path)
	bin := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	var cmd *exec.Cmd
	if emulator != "" {
		cmd = exec.Command(emulator, bin)
	} else {
		cmd = exec.Command(bin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("running %s: %v\n%s", path, err, out)
	}
	return string(out)
}

// snapshot hashes every file under dir, to prove a step changed nothing.
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	return ocitest.Snapshot(t, dir)
}

// skipShort skips the end-to-end tests, which are all of this package's:
// each builds and releases testdata apps (the steps' own packages test
// them alone with -short).
func skipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: builds and releases testdata apps end to end")
	}
}
