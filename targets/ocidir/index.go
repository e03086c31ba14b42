package ocidir

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// WriteIndexJSON replaces index.json atomically with an image index listing
// manifests (in the order given). It does nothing when the file already has
// exactly these bytes.
//
// Every manifest must already be in the layout with its content verified:
// index.json is written last, so it never points at a missing blob.
func (d *Dir) WriteIndexJSON(manifests []v1.Descriptor) error {
	for _, m := range manifests {
		ok, err := d.HasBlob(m.Digest, m.Size)
		if err != nil {
			return fmt.Errorf("writing index.json: %w", err)
		}
		if !ok {
			return fmt.Errorf("writing index.json: manifest %s (%d bytes) is not in OCI image layout %q: write it first", m.Digest, m.Size, d.path)
		}
	}
	b, err := marshalIndex(manifests)
	if err != nil {
		return err
	}
	cur, err := os.ReadFile(filepath.Join(d.path, indexFile))
	if err == nil && bytes.Equal(cur, b) {
		return nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("writing index.json: %w", err)
	}
	return d.replaceFile(indexFile, b)
}

// IndexJSON reads index.json.
func (d *Dir) IndexJSON() (*v1.IndexManifest, error) {
	p := filepath.Join(d.path, indexFile)
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("reading OCI image layout index: %w", err)
	}
	defer f.Close()
	im, err := v1.ParseIndexManifest(f)
	if err != nil {
		return nil, fmt.Errorf("reading %q: not an image index: %w", p, err)
	}
	return im, nil
}
