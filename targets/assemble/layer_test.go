package assemble

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

var compressions = []struct {
	name string
	mt   types.MediaType
}{
	{Gzip, "application/vnd.oci.image.layer.v1.tar+gzip"},
	{Zstd, "application/vnd.oci.image.layer.v1.tar+zstd"},
}

// packBytes packs content as the binary at p into memory.
func packBytes(t *testing.T, content []byte, p string, mt types.MediaType) ([]byte, layerInfo) {
	t.Helper()
	var buf bytes.Buffer
	info, err := packLayer(&buf, mt, fillBinary(context.Background(), bytes.NewReader(content), int64(len(content)), p, testCreated))
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), info
}

func TestPackLayerIsDeterministic(t *testing.T) {
	content := []byte("\x7fELF fake binary\n")
	for _, c := range compressions {
		t.Run(c.name, func(t *testing.T) {
			a, ia := packBytes(t, content, "/usr/local/bin/app", c.mt)
			b, ib := packBytes(t, content, "/usr/local/bin/app", c.mt)
			if !bytes.Equal(a, b) {
				t.Errorf("two packs of the same input differ (%d and %d bytes)", len(a), len(b))
			}
			if diff := cmp.Diff(ia, ib); diff != "" {
				t.Errorf("layer info differs (-first +second):\n%s", diff)
			}
			if got, want := ia.Digest.Hex, fmt.Sprintf("%x", sha256.Sum256(a)); got != want {
				t.Errorf("digest = %s, want sha256 of the bytes %s", got, want)
			}
			if got, want := ia.Size, int64(len(a)); got != want {
				t.Errorf("size = %d, want %d", got, want)
			}
			if got := ia.MediaType; got != c.mt {
				t.Errorf("media type = %s, want %s", got, c.mt)
			}
		})
	}
}

// TestAppLayerIgnoresFileMetadata packs the same content from two files
// with different names, modes and mtimes into two stores.
func TestAppLayerIgnoresFileMetadata(t *testing.T) {
	content := []byte("same bytes, different files")
	dir := t.TempDir()
	one := writeFile(t, dir, "one", content)
	two := writeFile(t, t.TempDir(), "other-name", content)
	if err := os.Chmod(two, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(two, time.Unix(1e9, 0), time.Unix(1.5e9, 123)); err != nil {
		t.Fatal(err)
	}
	for _, c := range compressions {
		t.Run(c.name, func(t *testing.T) {
			var infos []layerInfo
			for _, bin := range []string{one, two} {
				req := &Request{Store: newStore(t), Binary: bin}
				l, err := appLayer(context.Background(), req, "/usr/local/bin/app", testCreated, c.mt)
				if err != nil {
					t.Fatal(err)
				}
				infos = append(infos, l.(*blobLayer).info)
			}
			if diff := cmp.Diff(infos[0], infos[1]); diff != "" {
				t.Errorf("layers differ (-%s +%s):\n%s", one, two, diff)
			}
		})
	}
}

// TestLayerGolden pins the layer bytes: a change here changes every image
// Gantry builds, so it must be deliberate (and bump cacheFormat).
func TestLayerGolden(t *testing.T) {
	want := map[string]layerInfo{
		Gzip: {
			Digest:    v1.Hash{Algorithm: "sha256", Hex: "330f5bfbdfe754b06163dc9191446081267f63d6986e3d6d2be0c1e629888814"},
			DiffID:    v1.Hash{Algorithm: "sha256", Hex: "f15fd285312ed385ab3cc46e9afac7767134c4d14916badf063b0c5a3fd69372"},
			Size:      176,
			MediaType: types.OCILayer,
		},
		Zstd: {
			Digest:    v1.Hash{Algorithm: "sha256", Hex: "4e4fc2d7c013e1d9b9e17cd50c5349428d262a0a8da1d29db0efa9ef0ba51306"},
			DiffID:    v1.Hash{Algorithm: "sha256", Hex: "f15fd285312ed385ab3cc46e9afac7767134c4d14916badf063b0c5a3fd69372"},
			Size:      159,
			MediaType: types.OCILayerZStd,
		},
	}
	for _, c := range compressions {
		_, got := packBytes(t, []byte("hello gantry\n"), "/usr/local/bin/hello", c.mt)
		if diff := cmp.Diff(want[c.name], got); diff != "" {
			t.Errorf("%s layer (-want +got):\n%s", c.name, diff)
		}
	}
}

func TestLayerTarHeaders(t *testing.T) {
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	longDir := "/opt/" + strings.Repeat("d", 200)
	tests := []struct {
		binDir string
		want   []tarEntry
	}{{
		binDir: "",
		want: []tarEntry{
			{Name: "usr/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: created},
			{Name: "usr/local/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: created},
			{Name: "usr/local/bin/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: created},
			{Name: "usr/local/bin/app", Typeflag: tar.TypeReg, Mode: 0o755, ModTime: created, Content: "binary"},
		},
	}, {
		binDir: "/app",
		want: []tarEntry{
			{Name: "app/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: created},
			{Name: "app/app", Typeflag: tar.TypeReg, Mode: 0o755, ModTime: created, Content: "binary"},
		},
	}, {
		// Past USTAR's name fields: a PAX path record, and still no time record.
		binDir: longDir,
		want: []tarEntry{
			{Name: "opt/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: created},
			{Name: longDir[1:] + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: created,
				PAX: map[string]string{"path": longDir[1:] + "/"}},
			{Name: longDir[1:] + "/app", Typeflag: tar.TypeReg, Mode: 0o755, ModTime: created, Content: "binary",
				PAX: map[string]string{"path": longDir[1:] + "/app"}},
		},
	}}
	for _, tt := range tests {
		for _, c := range compressions {
			t.Run(c.name+tt.binDir, func(t *testing.T) {
				bin := writeFile(t, t.TempDir(), "bin", []byte("binary"))
				p, err := inImagePath(tt.binDir, "app")
				if err != nil {
					t.Fatal(err)
				}
				store := newStore(t)
				l, err := appLayer(context.Background(), &Request{Store: store, Binary: bin}, p, created, c.mt)
				if err != nil {
					t.Fatal(err)
				}
				rc, err := l.Uncompressed()
				if err != nil {
					t.Fatal(err)
				}
				defer rc.Close()
				if diff := cmp.Diff(tt.want, readTar(t, rc, 1<<20)); diff != "" {
					t.Errorf("entries (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestLayerRoundTrip checks the blob-backed layer against its content.
func TestLayerRoundTrip(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789abcdef"), 100_000) // 1.6 MB
	bin := writeFile(t, t.TempDir(), "bin", content)
	for _, c := range compressions {
		t.Run(c.name, func(t *testing.T) {
			store := newStore(t)
			req := &Request{Store: store, Binary: bin, Compression: c.name}
			l, err := appLayer(context.Background(), req, "/usr/local/bin/app", testCreated, c.mt)
			if err != nil {
				t.Fatal(err)
			}
			checkLayer(t, l)
			digest, _ := l.Digest()
			if ok, err := store.HasBlob(digest, l.(*blobLayer).info.Size); err != nil || !ok {
				t.Errorf("HasBlob(%s) = %v, %v; want the layer committed to the store", digest, ok, err)
			}
			rc, err := l.Uncompressed()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			tr := tar.NewReader(rc)
			for {
				h, err := tr.Next()
				if err != nil {
					t.Fatalf("no binary in layer: %v", err)
				}
				if h.Name == "usr/local/bin/app" {
					break
				}
			}
			got, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, content) {
				t.Errorf("binary read back has %d bytes, want the %d written", len(got), len(content))
			}
		})
	}
}

func TestInImagePath(t *testing.T) {
	tests := []struct {
		binDir, name, want, err string
	}{
		{"", "app", "/usr/local/bin/app", ""},
		{"/app", "svc", "/app/svc", ""},
		{"/", "svc", "/svc", ""},
		{"app", "svc", "", `bin dir "app" must be an absolute, clean path`},
		{"/usr/local/bin/", "svc", "", `bin dir "/usr/local/bin/" must be an absolute, clean path`},
		{"/a/../b", "svc", "", `bin dir "/a/../b" must be`},
		{"", "", "", `binary name "" is not a file name`},
		{"", "a/b", "", `binary name "a/b" is not a file name`},
		{"", "..", "", `binary name ".." is not a file name`},
	}
	for _, tt := range tests {
		got, err := inImagePath(tt.binDir, tt.name)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("inImagePath(%q, %q) error = %v, want %q", tt.binDir, tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("inImagePath(%q, %q) = %q, %v; want %q", tt.binDir, tt.name, got, err, tt.want)
		}
	}
}

func TestNormTime(t *testing.T) {
	paris := time.FixedZone("CEST", 2*3600)
	tests := []struct {
		in, want time.Time
	}{
		{time.Time{}, time.Unix(0, 0).UTC()},
		{time.Date(2024, 5, 6, 9, 8, 9, 999, paris), testCreated},
		{testCreated, testCreated},
	}
	for _, tt := range tests {
		got := normTime(tt.in)
		if !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("normTime(%v) = %v, want %v in UTC", tt.in, got, tt.want)
		}
	}
}

func TestBinaryMustBeRegularFile(t *testing.T) {
	dir := t.TempDir()
	_, err := appLayer(context.Background(), &Request{Store: newStore(t), Binary: dir}, "/usr/local/bin/app", testCreated, types.OCILayer)
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("appLayer(dir) error = %v, want not a regular file", err)
	}
	_, err = appLayer(context.Background(), &Request{Store: newStore(t), Binary: filepath.Join(dir, "missing")}, "/usr/local/bin/app", testCreated, types.OCILayer)
	if err == nil || !strings.Contains(err.Error(), "opening binary") {
		t.Errorf("appLayer(missing) error = %v, want opening binary", err)
	}
}

// checkLayer is validate.Layer for any compression (ggcr's only reads gzip):
// Digest, Size and DiffID must match the Compressed and Uncompressed streams.
func checkLayer(t *testing.T, l v1.Layer) {
	t.Helper()
	if mt, _ := l.MediaType(); mt == types.OCILayer {
		if err := validate.Layer(l); err != nil {
			t.Errorf("validate.Layer: %v", err)
		}
	}
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	digest, size, err := v1.SHA256(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	rc, err = l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	diffID, _, err := v1.SHA256(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	wantDigest, _ := l.Digest()
	wantDiffID, _ := l.DiffID()
	wantSize, _ := l.Size()
	if digest != wantDigest || diffID != wantDiffID || size != wantSize {
		t.Errorf("layer says digest %s diffID %s size %d; content has %s %s %d", wantDigest, wantDiffID, wantSize, digest, diffID, size)
	}
}
