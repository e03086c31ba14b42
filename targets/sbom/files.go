package sbom

import (
	"archive/tar"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/assets"
	"github.com/gantrybuild/gantry/targets/internal/atomicfile"
)

// File is a file an image carries besides its binary (Image.Files in the
// configuration, a main package's kodata/): its path in the image and
// digests.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // hex
	SHA1   string `json:"sha1"`   // hex; SPDX 2.3 requires it of every file
}

// findFiles lists the regular files of the layer the manifest marks as
// the files layer (assets.LayerAnnotation); none when there is none.
func (o *options) findFiles(img v1.Image) ([]File, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	for _, d := range m.Layers {
		if d.Annotations[assets.LayerAnnotation] != assets.LayerValue {
			continue
		}
		l, err := img.LayerByDigest(d.Digest)
		if err != nil {
			return nil, err
		}
		return o.cachedFilesInLayer(l, d.Digest)
	}
	return nil, nil
}

// cachedFilesInLayer is filesInLayer, remembered by the layer's digest
// (content-addressed, so never stale) when a cache directory is set.
func (o *options) cachedFilesInLayer(l v1.Layer, dig v1.Hash) ([]File, error) {
	if o.cacheDir == "" {
		return filesInLayer(l)
	}
	file := filepath.Join(o.cacheDir, "files-"+dig.Algorithm+"-"+dig.Hex+".json")
	if data, err := os.ReadFile(file); err == nil {
		var files []File
		if json.Unmarshal(data, &files) == nil {
			return files, nil
		}
	}
	files, err := filesInLayer(l)
	if err != nil {
		return nil, err
	}
	if data, err := json.Marshal(files); err == nil {
		_ = atomicfile.Write(file, data) // best effort: a failure means reading the layer again next time
	}
	return files, nil
}

func filesInLayer(l v1.Layer) ([]File, error) {
	rc, err := uncompressed(l)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	files := []File{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the files layer: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		s256, s1 := sha256.New(), sha1.New()
		n, err := io.Copy(io.MultiWriter(s256, s1), tr)
		if err != nil {
			return nil, fmt.Errorf("reading %s in the files layer: %w", h.Name, err)
		}
		files = append(files, File{Path: imagePath(h.Name), Size: n, SHA256: hex.EncodeToString(s256.Sum(nil)), SHA1: hex.EncodeToString(s1.Sum(nil))})
	}
}
