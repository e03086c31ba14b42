package ocidir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// staleTempAge is how long a temp file must have been left untouched before
// GC removes it. Writers hold the lock, but Stage does not require it, so a
// temp file that is still being written must not disappear.
const staleTempAge = time.Hour

// GC removes blobs not reachable from index.json, and stale temp files.
//
// Reachable: every descriptor in index.json and its subject, and, through
// image indexes and manifests (OCI and Docker), their manifests, subjects,
// configs and layers. GC reads nothing else and deletes nothing when
// index.json or a reachable manifest cannot be read or verified.
//
// Call GC with the lock held (Lock), and hold the lock from a write's first
// blob to its index.json: blobs written by someone else that index.json does
// not reference yet are garbage to GC. Temp files are removed once untouched
// for an hour.
func (d *Dir) GC() error {
	im, err := d.IndexJSON()
	if err != nil {
		return fmt.Errorf("collecting garbage in %q: %w", d.path, err)
	}
	keep := make(map[v1.Hash]bool)
	roots := im.Manifests
	if im.Subject != nil {
		roots = append(roots, *im.Subject)
	}
	for _, desc := range roots {
		if err := d.mark(desc, keep); err != nil {
			return fmt.Errorf("collecting garbage in %q: %w", d.path, err)
		}
	}
	if err := d.sweepBlobs(keep); err != nil {
		return fmt.Errorf("collecting garbage in %q: %w", d.path, err)
	}
	if err := d.sweepTemps(time.Now().Add(-staleTempAge)); err != nil {
		return fmt.Errorf("collecting garbage in %q: %w", d.path, err)
	}
	return nil
}

// manifestNode holds the descriptor fields of every manifest kind GC walks.
type manifestNode struct {
	Config    *v1.Descriptor  `json:"config"`
	Layers    []v1.Descriptor `json:"layers"`
	Blobs     []v1.Descriptor `json:"blobs"` // OCI 1.1 release-candidate artifact manifests
	Manifests []v1.Descriptor `json:"manifests"`
	Subject   *v1.Descriptor  `json:"subject"`
}

// mark adds desc and everything reachable from it to keep.
func (d *Dir) mark(desc v1.Descriptor, keep map[v1.Hash]bool) error {
	if keep[desc.Digest] {
		return nil
	}
	keep[desc.Digest] = true
	switch desc.MediaType {
	case types.OCIImageIndex, types.DockerManifestList, types.OCIManifestSchema1, types.DockerManifestSchema2,
		"application/vnd.oci.artifact.manifest.v1+json":
	default:
		return nil // a leaf
	}
	raw, err := d.readSmallBlob(desc.Digest)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a layout may lack blobs; nothing below it to keep
	}
	if err != nil {
		return err
	}
	var n manifestNode
	if err := json.Unmarshal(raw, &n); err != nil {
		return fmt.Errorf("reading manifest %s: %w", desc.Digest, err)
	}
	if n.Config != nil {
		keep[n.Config.Digest] = true
	}
	for _, l := range append(n.Layers, n.Blobs...) {
		keep[l.Digest] = true
	}
	children := n.Manifests
	if n.Subject != nil {
		children = append(children, *n.Subject)
	}
	for _, c := range children {
		if err := d.mark(c, keep); err != nil {
			return err
		}
	}
	return nil
}

// sweepBlobs removes the regular files under blobs/<alg>/ not in keep.
func (d *Dir) sweepBlobs(keep map[v1.Hash]bool) error {
	root := filepath.Join(d.path, blobsDir)
	algs, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	for _, alg := range algs {
		if !alg.IsDir() {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(root, alg.Name()))
		if err != nil {
			return err
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || keep[v1.Hash{Algorithm: alg.Name(), Hex: e.Name()}] {
				continue
			}
			if err := os.Remove(filepath.Join(root, alg.Name(), e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// sweepTemps removes our temp files last modified before cutoff.
func (d *Dir) sweepTemps(cutoff time.Time) error {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tempPrefix) || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.ModTime().After(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(d.path, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
