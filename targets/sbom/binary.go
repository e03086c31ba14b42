package sbom

import (
	"archive/tar"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	v1 "github.com/google/go-containerregistry/pkg/v1"
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
func findBinary(img v1.Image) (Binary, error) {
	layers, err := img.Layers()
	if err != nil {
		return Binary{}, err
	}
	for i := len(layers) - 1; i >= 0; i-- {
		b, err := binaryInLayer(layers[i])
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, errNoBinary) {
			return Binary{}, err
		}
	}
	return Binary{}, errNoBinary
}

func binaryInLayer(l v1.Layer) (Binary, error) {
	rc, err := l.Uncompressed()
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
		return Binary{Path: path.Clean("/" + h.Name), Size: h.Size, SHA256: sum, Info: info}, nil
	}
}

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
