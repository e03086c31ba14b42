package sbom

import (
	"archive/tar"
	"bytes"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
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
		data, err := io.ReadAll(tr)
		if err != nil {
			return Binary{}, fmt.Errorf("reading %s: %w", h.Name, err)
		}
		info, err := buildinfo.Read(bytes.NewReader(data))
		if err != nil {
			continue // not a Go binary
		}
		sum, _, _ := v1.SHA256(bytes.NewReader(data))
		return Binary{Path: path.Clean("/" + h.Name), Size: h.Size, SHA256: sum, Info: info}, nil
	}
}
