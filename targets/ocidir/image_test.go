package ocidir

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/stream"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func TestWriteImage(t *testing.T) {
	d := openTemp(t)
	img := testImage(t, 3, 100<<10, 1)
	desc, err := d.WriteImage(t.Context(), img)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := img.RawManifest()
	wantDesc := v1.Descriptor{
		MediaType: types.OCIManifestSchema1,
		Size:      int64(len(raw)),
		Digest:    sha(raw),
		Platform:  &v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"},
	}
	if diff := cmp.Diff(wantDesc, desc); diff != "" {
		t.Errorf("WriteImage descriptor (-want +got):\n%s", diff)
	}
	if tmp := tempFiles(t, d.Path()); len(tmp) != 0 {
		t.Errorf("temp files left: %v", tmp)
	}

	// Read back through Dir (not in index.json yet) ...
	got, err := d.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	// ... and through ggcr's layout package once listed.
	if err := d.WriteIndexJSON([]v1.Descriptor{desc}); err != nil {
		t.Fatal(err)
	}
	p, err := layout.FromPath(d.Path())
	if err != nil {
		t.Fatal(err)
	}
	limg, err := p.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(limg); err != nil {
		t.Fatalf("validate.Image(layout): %v", err)
	}
	checkLayout(t, d.Path())
}

func TestWriteImageDescriptor(t *testing.T) {
	docker, err := random.Image(1024, 1) // Docker media types, no platform
	if err != nil {
		t.Fatal(err)
	}
	artifact := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), "application/vnd.example.sbom.config+json")
	artifact, err = mutate.AppendLayers(artifact, static.NewLayer([]byte(`{"spdxVersion":"SPDX-2.3"}`), "application/spdx+json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name         string
		img          v1.Image
		mediaType    types.MediaType
		artifactType string
	}{
		{"docker", docker, types.DockerManifestSchema2, ""},
		{"artifact", artifact, types.OCIManifestSchema1, "application/vnd.example.sbom.config+json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := openTemp(t)
			desc, err := d.WriteImage(t.Context(), tt.img)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := tt.img.RawManifest()
			want := v1.Descriptor{MediaType: tt.mediaType, Size: int64(len(raw)), Digest: sha(raw), ArtifactType: tt.artifactType}
			if diff := cmp.Diff(want, desc); diff != "" {
				t.Errorf("descriptor (-want +got):\n%s", diff)
			}
			if err := d.WriteIndexJSON([]v1.Descriptor{desc}); err != nil {
				t.Fatal(err)
			}
			checkLayout(t, d.Path())
		})
	}
}

// fileState is what the idempotence test compares: a rewrite, even with the
// same bytes, changes the inode or the mtime.
type fileState struct {
	info fs.FileInfo
	Mode fs.FileMode
	Size int64
	Mod  time.Time
}

func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	m := make(map[string]fileState)
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		m[rel] = fileState{info: fi, Mode: fi.Mode(), Size: fi.Size(), Mod: fi.ModTime()}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWriteIsIdempotent(t *testing.T) {
	d := openTemp(t)
	img := testImage(t, 2, 64<<10, 2)
	write := func() {
		desc, err := d.WriteImage(t.Context(), img)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.WriteIndexJSON([]v1.Descriptor{desc}); err != nil {
			t.Fatal(err)
		}
	}
	write()
	before := snapshot(t, d.Path())
	time.Sleep(10 * time.Millisecond) // let a rewrite show in mtimes
	write()
	after := snapshot(t, d.Path())
	if diff := cmp.Diff(before, after, cmp.AllowUnexported(fileState{}), cmp.Comparer(os.SameFile)); diff != "" {
		t.Errorf("second write changed the layout (-first +second):\n%s", diff)
	}
}

func TestWriteImageStreamLayer(t *testing.T) {
	d := openTemp(t)
	var tarball bytes.Buffer
	l, err := random.Layer(50<<10, types.OCIUncompressedLayer)
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := l.Uncompressed()
	io.Copy(&tarball, rc)
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), stream.NewLayer(io.NopCloser(&tarball)))
	if err != nil {
		t.Fatal(err)
	}
	desc, err := d.WriteImage(t.Context(), img)
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
}

func TestWriteImageCancel(t *testing.T) {
	d := openTemp(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := d.WriteImage(ctx, testImage(t, 1, 1024, 3)); !errors.Is(err, context.Canceled) {
		t.Errorf("WriteImage(canceled ctx) = %v, want context.Canceled", err)
	}

	// Canceled in the middle of a layer: the copy stops, nothing is left.
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	r := io.MultiReader(bytes.NewReader(make([]byte, 1<<20)), readerFunc(func(p []byte) (int, error) {
		cancel()
		return len(p), nil // endless otherwise
	}))
	img, err := mutate.AppendLayers(empty.Image, stream.NewLayer(io.NopCloser(r)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.WriteImage(ctx, img); !errors.Is(err, context.Canceled) {
		t.Errorf("WriteImage(canceled mid-layer) = %v, want context.Canceled", err)
	}
	if tmp := tempFiles(t, d.Path()); len(tmp) != 0 {
		t.Errorf("temp files left: %v", tmp)
	}
	if names := blobNames(t, d); len(names) != 0 {
		t.Errorf("blobs left: %v", names)
	}
}

// fileLayerImage is an image with one layer read from a gzipped tar file.
func fileLayerImage(tb testing.TB, path string) v1.Image {
	tb.Helper()
	l, err := tarball.LayerFromFile(path, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		tb.Fatal(err)
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), l)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := img.Manifest(); err != nil { // compute before measuring
		tb.Fatal(err)
	}
	return img
}

// TestWriteImageStreams checks that a layer is streamed, never buffered:
// writing a 32 MiB layer allocates a small fraction of it.
func TestWriteImageStreams(t *testing.T) {
	const size = 32 << 20
	img := fileLayerImage(t, gzLayerFile(t, size))
	d := openTemp(t)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := d.WriteImage(t.Context(), img); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/8 {
		t.Errorf("WriteImage of a %d MiB layer allocated %d KiB; want it streamed", size>>20, alloc>>10)
	}
}

// BenchmarkWriteImage writes images into a fresh layout (the image's layer
// files are on disk, prepared once), for layerJobs 1, 2 and 4.
func BenchmarkWriteImage(b *testing.B) {
	one60 := fileLayerImage(b, gzLayerFile(b, 60<<20))
	four16 := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	for i := range 4 {
		l, err := tarball.LayerFromFile(gzLayerFile(b, 16<<20+int64(i)), tarball.WithMediaType(types.OCILayer))
		if err != nil {
			b.Fatal(err)
		}
		if four16, err = mutate.AppendLayers(four16, l); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name string
		img  v1.Image
	}{{"1x60MiB", one60}, {"4x16MiB", four16}} {
		size, _ := bc.img.Size()
		ls, _ := bc.img.Layers()
		for _, l := range ls {
			n, _ := l.Size()
			size += n
		}
		for _, jobs := range []int{1, 2, 4} {
			b.Run(bc.name+"/jobs="+string(rune('0'+jobs)), func(b *testing.B) {
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					b.StopTimer()
					d, err := Open(filepath.Join(b.TempDir(), "oci"))
					if err != nil {
						b.Fatal(err)
					}
					d.layerJobs = jobs
					b.StartTimer()
					if _, err := d.WriteImage(b.Context(), bc.img); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(bc.name+"/unchanged", func(b *testing.B) {
			d, err := Open(filepath.Join(b.TempDir(), "oci"))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := d.WriteImage(b.Context(), bc.img); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.WriteImage(b.Context(), bc.img); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
