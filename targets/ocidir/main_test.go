package ocidir

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// The test binary doubles as the helper process of the cross-process tests:
// with helperEnv set it runs that helper instead of the tests.
const (
	helperEnv      = "GANTRY_OCIDIR_TEST_HELPER" // "append" or "crashloop"
	helperDirEnv   = "GANTRY_OCIDIR_TEST_DIR"
	helperCountEnv = "GANTRY_OCIDIR_TEST_COUNT"
)

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "append":
		n, _ := strconv.Atoi(os.Getenv(helperCountEnv))
		os.Exit(runHelper(func(d *Dir) error { return appendImages(d, n, 7) }))
	case "crashloop":
		os.Exit(runHelper(crashLoop))
	default:
		fmt.Fprintf(os.Stderr, "unknown %s %q\n", helperEnv, os.Getenv(helperEnv))
		os.Exit(2)
	}
}

func runHelper(f func(*Dir) error) int {
	d, err := Open(os.Getenv(helperDirEnv))
	if err == nil {
		fmt.Println("ready")
		err = f(d)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startHelper re-executes the test binary as a helper on dir. It returns the
// command and a reader of its stdout.
func startHelper(t *testing.T, mode, dir string, extraEnv ...string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperDirEnv+"="+dir)
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, bufio.NewReader(out)
}

// appendImages writes n random images, adding each to index.json under the
// lock, as concurrent users of a layout do.
func appendImages(d *Dir, n int, seed uint64) error {
	ctx := context.Background()
	for i := range n {
		img := testImage(nil, 3, 64<<10, seed*1000+uint64(i))
		unlock, err := d.Lock(ctx)
		if err != nil {
			return err
		}
		err = func() error {
			defer unlock()
			desc, err := d.WriteImage(ctx, img)
			if err != nil {
				return err
			}
			im, err := d.IndexJSON()
			if err != nil {
				return err
			}
			return d.WriteIndexJSON(append(im.Manifests, desc))
		}()
		if err != nil {
			return err
		}
	}
	return nil
}

// testImage is a random OCI image for linux/arm/v7 with layers of size
// bytes each, generated from seed (tb may be nil).
func testImage(tb testing.TB, layers int, size int64, seed uint64) v1.Image {
	fail := func(err error) {
		if tb != nil {
			tb.Helper()
			tb.Fatal(err)
		}
		panic(err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	src := rand.NewPCG(seed, seed)
	for range layers {
		l, err := random.Layer(size, types.OCILayer, random.WithSource(mathRandSource{src}))
		if err != nil {
			fail(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			fail(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		fail(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = "linux", "arm", "v7"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		fail(err)
	}
	return img
}

// mathRandSource adapts a math/rand/v2 source to the math/rand.Source that
// ggcr's random package takes.
type mathRandSource struct{ s rand.Source }

func (m mathRandSource) Int63() int64 { return int64(m.s.Uint64() >> 1) }
func (m mathRandSource) Seed(int64)   {}

// gzLayerFile writes a gzipped tar (stored, not compressed: fast to make)
// holding one file of size random bytes and returns its path.
func gzLayerFile(tb testing.TB, size int64) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "layer.tar.gz")
	f, err := os.Create(p)
	if err != nil {
		tb.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.NoCompression)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "data", Size: size, Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
		tb.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{1})
	if _, err := io.CopyN(tw, rng, size); err != nil {
		tb.Fatal(err)
	}
	for _, c := range []io.Closer{tw, zw, f} {
		if err := c.Close(); err != nil {
			tb.Fatal(err)
		}
	}
	return p
}

// checkLayout is the test's definition of a sound layout, after Open: a
// valid oci-layout, an index.json that is an image index whose images and
// indexes validate (through ggcr's layout package and through Dir), every
// file under blobs/ named by its sha256, and nothing else at the top but
// temp files.
func checkLayout(t *testing.T, dir string) *v1.IndexManifest {
	t.Helper()
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "oci-layout"))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkLayoutFile("oci-layout", b); err != nil {
		t.Fatal(err)
	}
	im, err := d.IndexJSON()
	if err != nil {
		t.Fatal(err)
	}
	if im.SchemaVersion != 2 || im.MediaType != types.OCIImageIndex {
		t.Fatalf("index.json: schemaVersion %d, mediaType %q", im.SchemaVersion, im.MediaType)
	}
	ii, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(ii); err != nil {
		t.Fatalf("validate.Index(layout %s): %v", dir, err)
	}
	for _, desc := range im.Manifests {
		if desc.MediaType.IsIndex() {
			idx, err := d.ImageIndex(desc.Digest)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Index(idx); err != nil {
				t.Fatalf("validate.Index(%s): %v", desc.Digest, err)
			}
			continue
		}
		img, err := d.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Image(img); err != nil {
			t.Fatalf("validate.Image(%s): %v", desc.Digest, err)
		}
	}

	entries, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		f, err := os.Open(filepath.Join(dir, "blobs", "sha256", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != e.Name() {
			t.Errorf("blobs/sha256/%s hashes to %s", e.Name(), got)
		}
	}
	top, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range top {
		switch n := e.Name(); {
		case n == "oci-layout", n == "index.json", n == "blobs", strings.HasPrefix(n, tempPrefix):
		default:
			t.Errorf("unexpected %q at the top of the layout", n)
		}
	}
	return im
}

// tempFiles lists the temp files at the top of the layout.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, tempPrefix+"*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
