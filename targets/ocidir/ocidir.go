// Package ocidir reads and writes an OCI image layout directory atomically.
//
// Unlike ggcr's layout package, every file (blobs, oci-layout, index.json) is
// written to a temp file inside the layout, synced and renamed into place,
// index.json last, by callers holding an exclusive lock on the layout, so a
// crash or a concurrent run never leaves a corrupt layout. Existing blobs are
// verified by digest before they are reused (once: see WithVerifyCache).
//
// Temp files are named ".gantry-tmp-*" and live at the top of the layout,
// beside index.json, never under blobs/ (whose entries must be named by
// their digest: ggcr's GarbageCollect fails on anything else). That is where
// skopeo and umoci stage blobs too, it is on the layout's filesystem, so
// rename is atomic, and tools that read a layout ignore it. GC removes stale
// ones.
//
// Callers that change a layout (WriteImage, WriteIndexJSON, GC) from more
// than one goroutine or process hold Lock around the whole change: blobs
// first, then index.json.
package ocidir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gantrybuild/gantry/targets/internal/statcache"
)

const (
	layoutFile    = "oci-layout"
	indexFile     = "index.json"
	blobsDir      = "blobs"
	layoutVersion = "1.0.0"
	tempPrefix    = ".gantry-tmp-"

	dirMode  fs.FileMode = 0o755
	fileMode fs.FileMode = 0o644
)

// layoutJSON is what Open writes to oci-layout, byte for byte.
var layoutJSON = []byte(`{"imageLayoutVersion":"1.0.0"}`)

// Dir is an OCI image layout on disk.
type Dir struct {
	path      string
	lockPath  string
	layerJobs int              // layers WriteImage copies at once
	verified  *statcache.Cache // blobs whose content was hashed, by stat signature
}

// Option configures Open.
type Option func(*Dir)

// WithVerifyCache keeps, in file (outside the layout, e.g. under dist/cache),
// the stat signature of each blob whose content has been verified, so that
// a blob unchanged since (same inode, size, mtime and ctime: any rewrite
// changes the ctime) is not read again; a blob changed in any way is
// hashed again. Without it, verified blobs are remembered for the life of
// the Dir only.
func WithVerifyCache(file string) Option {
	return func(d *Dir) { d.verified = statcache.Load(file) }
}

// Open opens the layout at path, creating the directory, blobs/sha256 and
// oci-layout ({"imageLayoutVersion":"1.0.0"}) when missing. An existing
// directory that is not a layout (e.g. has files but no oci-layout) or whose
// oci-layout is corrupt is an error naming the path.
//
// A new layout also gets an empty index.json, and oci-layout is written
// last, so a directory with oci-layout is always a whole layout, even when
// Open was interrupted (the next Open finishes the job). Open never replaces
// an existing index.json or oci-layout.
func Open(path string, opts ...Option) (*Dir, error) {
	if path == "" {
		return nil, errors.New("opening OCI image layout: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("opening OCI image layout %q: %w", path, err)
	}
	d := &Dir{path: path, layerJobs: layerJobs()}
	for _, opt := range opts {
		opt(d)
	}
	if d.verified == nil {
		d.verified = statcache.Load("")
	}
	if err := d.init(); err != nil {
		return nil, err
	}
	// Beside the real directory, so that every path to it shares the lock.
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	d.lockPath = abs + ".lock"
	return d, nil
}

func (d *Dir) init() error {
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(d.path)), 0o777); err != nil {
		return fmt.Errorf("creating the parent of OCI image layout %q: %w", d.path, err)
	}
	if err := mkdir(d.path); err != nil {
		return fmt.Errorf("creating OCI image layout %q: %w", d.path, err)
	}

	layoutPath := filepath.Join(d.path, layoutFile)
	b, err := os.ReadFile(layoutPath)
	marked := err == nil
	switch {
	case marked:
		if err := checkLayoutFile(layoutPath, b); err != nil {
			return err
		}
	case errors.Is(err, fs.ErrNotExist):
		if err := d.checkUnmarked(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("reading %q: %w", layoutPath, err)
	}

	// oci-layout comes last: a directory that has it is a whole layout,
	// even if a crash interrupted the previous Open.
	for _, dir := range []string{filepath.Join(d.path, blobsDir), filepath.Join(d.path, blobsDir, "sha256")} {
		if err := mkdir(dir); err != nil {
			return fmt.Errorf("creating %q: %w", dir, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(d.path, indexFile)); errors.Is(err, fs.ErrNotExist) {
		empty, err := marshalIndex(nil)
		if err != nil {
			return err
		}
		if err := d.createFile(indexFile, empty); err != nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("checking %q: %w", filepath.Join(d.path, indexFile), err)
	}
	if !marked {
		return d.createFile(layoutFile, layoutJSON)
	}
	return nil
}

// checkUnmarked fails unless a directory without oci-layout is empty or
// what an interrupted Open leaves: temp files, blobs/, an index.json that
// is an image index.
func (d *Dir) checkUnmarked() error {
	notLayout := fmt.Errorf("%q is not an OCI image layout (no oci-layout file); remove it or choose another output directory", d.path)
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return fmt.Errorf("reading OCI image layout %q: %w", d.path, err)
	}
	for _, e := range entries {
		switch name := e.Name(); {
		case strings.HasPrefix(name, tempPrefix):
		case name == blobsDir && e.IsDir():
		case name == indexFile && e.Type().IsRegular():
			if _, err := d.IndexJSON(); err != nil {
				return notLayout
			}
		default:
			return notLayout
		}
	}
	return nil
}

// checkLayoutFile checks the contents of an existing oci-layout file.
// Additional fields are allowed (the spec says so); the version is not.
func checkLayoutFile(name string, b []byte) error {
	var l struct {
		ImageLayoutVersion *string `json:"imageLayoutVersion"`
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("%q is corrupt (%v); it should be %s: fix or remove it", name, err, layoutJSON)
	}
	switch {
	case l.ImageLayoutVersion == nil:
		return fmt.Errorf("%q has no imageLayoutVersion; it should be %s: fix or remove it", name, layoutJSON)
	case *l.ImageLayoutVersion != layoutVersion:
		return fmt.Errorf("%q has imageLayoutVersion %q; only %q is supported: choose another output directory", name, *l.ImageLayoutVersion, layoutVersion)
	}
	return nil
}

// Path returns the layout's directory.
func (d *Dir) Path() string { return d.path }

// marshalIndex renders index.json for manifests, deterministically.
func marshalIndex(manifests []v1.Descriptor) ([]byte, error) {
	if manifests == nil {
		manifests = []v1.Descriptor{}
	}
	b, err := json.Marshal(v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests:     manifests,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding index.json: %w", err)
	}
	return b, nil
}
