package sbom

import (
	"archive/tar"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	kgzip "github.com/klauspost/compress/gzip"

	"github.com/gantrybuild/gantry/targets/internal/atomicfile"
)

// maxBinary bounds the size of a file read to look for Go build info.
const maxBinary = 1 << 30

// errNoBinary is returned when an image holds no Go binary.
var errNoBinary = errors.New("no Go binary with build info")

// Binary is the Go program an image runs: its path in the image and the
// build info the Go toolchain embedded in it.
type Binary struct {
	Path   string
	Size   int64
	SHA256 v1.Hash
	Info   *buildinfo.BuildInfo
}

// findBinary returns the first Go binary, searching the image's layers from
// the top (Gantry's application layer) down.
func (o *options) findBinary(img v1.Image) (Binary, error) {
	layers, err := img.Layers()
	if err != nil {
		return Binary{}, err
	}
	for i := len(layers) - 1; i >= 0; i-- {
		if mt, err := layers[i].MediaType(); err == nil && !mt.IsDistributable() {
			continue // a foreign (Windows base) layer: not in the layout, and not ours
		}
		b, err := o.cachedBinaryInLayer(layers[i])
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, errNoBinary) {
			return Binary{}, err
		}
	}
	return Binary{}, errNoBinary
}

// cachedLayer is what the cache keeps of one layer: its Go binary, or None.
type cachedLayer struct {
	None      bool   `json:"none,omitempty"`
	Path      string `json:"path,omitempty"`
	Size      int64  `json:"size,omitempty"`
	SHA256    string `json:"sha256,omitempty"`
	GoVersion string `json:"goVersion,omitempty"` // not in BuildInfo.String()
	BuildInfo string `json:"buildinfo,omitempty"` // debug.BuildInfo.String()
}

// cachedBinaryInLayer is binaryInLayer, answered from the cache directory
// when the layer (content-addressed, so its answer never changes) was read
// before. A cache entry that cannot be read is ignored and rewritten.
func (o *options) cachedBinaryInLayer(l v1.Layer) (Binary, error) {
	if o.cacheDir == "" {
		return binaryInLayer(l)
	}
	dig, err := l.Digest()
	if err != nil {
		return Binary{}, err
	}
	file := filepath.Join(o.cacheDir, "layer-"+dig.Algorithm+"-"+dig.Hex+".json")
	if b, err := readCachedLayer(file); err == nil {
		return b, nil
	} else if errors.Is(err, errNoBinary) {
		return Binary{}, err
	}
	b, err := binaryInLayer(l)
	var c cachedLayer
	switch {
	case errors.Is(err, errNoBinary):
		c.None = true
	case err != nil:
		return Binary{}, err
	default:
		c = cachedLayer{Path: b.Path, Size: b.Size, SHA256: b.SHA256.String(), GoVersion: b.Info.GoVersion, BuildInfo: b.Info.String()}
	}
	if data, jerr := json.Marshal(c); jerr == nil {
		_ = atomicfile.Write(file, data) // best effort: a failure means reading the layer again next time
	}
	return b, err
}

func readCachedLayer(file string) (Binary, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return Binary{}, err
	}
	var c cachedLayer
	if err := json.Unmarshal(data, &c); err != nil {
		return Binary{}, err
	}
	if c.None {
		return Binary{}, errNoBinary
	}
	sum, err := v1.NewHash(c.SHA256)
	if err != nil {
		return Binary{}, err
	}
	info, err := debug.ParseBuildInfo(c.BuildInfo)
	if err != nil {
		return Binary{}, err
	}
	info.GoVersion = c.GoVersion
	return Binary{Path: c.Path, Size: c.Size, SHA256: sum, Info: info}, nil
}

func binaryInLayer(l v1.Layer) (Binary, error) {
	rc, err := uncompressed(l)
	if err != nil {
		return Binary{}, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return Binary{}, errNoBinary
		}
		if err != nil {
			return Binary{}, fmt.Errorf("reading layer: %w", err)
		}
		if h.Typeflag != tar.TypeReg || h.Mode&0o111 == 0 || h.Size < 4 || h.Size > maxBinary {
			continue
		}
		info, sum, err := readBuildInfo(tr)
		if err != nil {
			return Binary{}, fmt.Errorf("reading %s: %w", h.Name, err)
		}
		if info == nil {
			continue // not a Go binary
		}
		return Binary{Path: imagePath(h.Name), Size: h.Size, SHA256: sum, Info: info}, nil
	}
}

// imagePath is where a layer entry is in the container: /usr/local/bin/x,
// or for a Windows layer's Files/app/x.exe, C:\app\x.exe.
func imagePath(name string) string {
	p := path.Clean("/" + name)
	if rest, ok := strings.CutPrefix(p, "/Files/"); ok {
		return `C:\` + strings.ReplaceAll(rest, "/", `\`)
	}
	return p
}

// uncompressed opens l's tar stream; a gzip layer is inflated with
// klauspost's decompressor, faster than the standard library's that
// ggcr's Uncompressed uses.
func uncompressed(l v1.Layer) (io.ReadCloser, error) {
	mt, err := l.MediaType()
	if err != nil || (mt != types.OCILayer && mt != types.DockerLayer) {
		return l.Uncompressed()
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	zr, err := kgzip.NewReader(rc)
	if err != nil {
		rc.Close()
		return nil, err
	}
	return readCloser{zr, func() error { zr.Close(); return rc.Close() }}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// readBuildInfo spools a tar entry to a temporary file (so memory does not
// grow with the binary) while hashing it, and reads its Go build info; a nil
// info means the file is not a Go binary.
func readBuildInfo(r io.Reader) (*buildinfo.BuildInfo, v1.Hash, error) {
	f, err := os.CreateTemp("", "gantry-sbom-*")
	if err != nil {
		return nil, v1.Hash{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, h), r); err != nil {
		return nil, v1.Hash{}, err
	}
	sum := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	info, err := buildinfo.Read(f)
	if err != nil {
		return nil, sum, nil
	}
	return info, sum, nil
}
