package assemble

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gantrybuild/gantry/targets/assets"
)

// The manifest annotation that marks the files layer (assets.LayerAnnotation).
const (
	FilesLayerAnnotation = assets.LayerAnnotation
	FilesLayerValue      = assets.LayerValue
)

// packing serialises the packing of one layer (by cache key), so that the
// platforms of an image, which share the files layer, pack it once and the
// others find it in the cache.
var packing sync.Map // cache key → *sync.Mutex

// filesLayer returns the layer holding req.Files (nil when there are
// none): a deterministic tar of the entries in path order, owner 0:0,
// their modes, mtime req.FilesTime. Its bytes depend on the entries, that
// time, the compression and whether the image is windows, nothing else, so
// every linux platform of an image shares one blob, and a code change
// leaves it as it was. The time is not the image's created time (a new
// commit's time would change the layer on every release and upload the
// assets again) but SOURCE_DATE_EPOCH when the user sets it, else the Unix
// epoch, as ko does for kodata (KO_DATA_DATE_EPOCH) and Gantry for the
// static base; net/http sends no Last-Modified for that time, so no client
// caches a file by a date that does not change with it.
func filesLayer(ctx context.Context, req *Request, mt types.MediaType, windows bool) (v1.Layer, error) {
	if len(req.Files) == 0 {
		return nil, nil
	}
	created := normTime(req.FilesTime)
	parts := []string{"created " + created.Format(time.RFC3339), "media type " + string(mt)}
	for _, e := range req.Files {
		if e.Type == tar.TypeReg && e.SHA256 == "" {
			return nil, fmt.Errorf("file %s (%s) has no digest: run assets.Sum on the entries first", e.Path, e.From)
		}
		if windows && e.Type == tar.TypeSymlink {
			return nil, fmt.Errorf("%s: %s is a symlink (to %s), which a windows image layer cannot carry as Gantry writes it: replace the link with the file, or leave it out of the windows image's files", e.From, e.Path, e.Link)
		}
		parts = append(parts, fmt.Sprintf("%s %c %o %d %s %s", e.Path, e.Type, e.Mode, e.Size, e.Link, e.SHA256))
	}
	if windows {
		parts = append(parts, "windows layer "+windowsBinarySD)
	}
	key := cacheKey("files", parts...)
	cache := layerCache{dir: req.CacheDir}
	if cache.dir != "" {
		mu, _ := packing.LoadOrStore(key, &sync.Mutex{})
		mu.(*sync.Mutex).Lock()
		defer mu.(*sync.Mutex).Unlock()
		info, ok, err := cache.lookup(req.Store, key)
		if err != nil {
			return nil, err
		}
		if ok {
			return fileLayer(info, req.Store.BlobPath(info.Digest)), nil
		}
	}
	if req.onPack != nil {
		req.onPack()
	}
	info, err := packToStore(req.Store, mt, fillFiles(ctx, req.Files, created, windows))
	if err != nil {
		return nil, fmt.Errorf("packing the image's files: %w", err)
	}
	if err := cache.store(key, info); err != nil {
		return nil, err
	}
	return fileLayer(info, req.Store.BlobPath(info.Digest)), nil
}

// fillFiles writes the entries (sorted, parents first, as assets.Resolve
// gives them). A windows layer puts them under Files/ after Hives and
// Files, as the binary's layer does, every file with the binary's security
// descriptor.
func fillFiles(ctx context.Context, entries []assets.Entry, created time.Time, windows bool) func(*tar.Writer) error {
	return func(tw *tar.Writer) error {
		if windows {
			for _, d := range []string{windowsHives, windowsFiles} {
				if err := tw.WriteHeader(tarHeader(d, tar.TypeDir, windowsMode, 0, 0, created)); err != nil {
					return fmt.Errorf("writing tar header %s: %w", d, err)
				}
			}
		}
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return err
			}
			name := strings.TrimPrefix(e.Path, "/")
			var h *tar.Header
			switch e.Type {
			case tar.TypeDir:
				if windows {
					h = tarHeader(path.Join(windowsFiles, name), tar.TypeDir, windowsMode, 0, 0, created)
				} else {
					h = tarHeader(name+"/", tar.TypeDir, int64(e.Mode), 0, 0, created)
				}
			case tar.TypeSymlink:
				h = tarHeader(name, tar.TypeSymlink, 0o777, 0, 0, created)
				h.Linkname = e.Link
			case tar.TypeReg:
				h = tarHeader(name, tar.TypeReg, int64(e.Mode), e.Size, 0, created)
				if windows {
					h = tarHeader(path.Join(windowsFiles, name), tar.TypeReg, windowsMode, e.Size, 0, created)
					h.PAXRecords = map[string]string{paxRawSD: windowsBinarySD}
				}
			default:
				return fmt.Errorf("file %s: entry type %q is not one Gantry writes", e.Path, e.Type)
			}
			if err := tw.WriteHeader(h); err != nil {
				return fmt.Errorf("writing tar header %s: %w", h.Name, err)
			}
			if e.Type == tar.TypeReg {
				if err := copyFile(ctx, tw, e); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// copyFile copies e's source into the tar, checking that it is still the
// content (size and SHA-256) the layer's cache key was made from.
func copyFile(ctx context.Context, w io.Writer, e assets.Entry) error {
	f, err := os.Open(e.Source)
	if err != nil {
		return fmt.Errorf("%s: %w", e.From, err)
	}
	defer f.Close()
	changed := fmt.Errorf("%s: %s changed while the image was built: build again", e.From, e.Source)
	if fi, err := f.Stat(); err != nil || fi.Size() != e.Size {
		return changed
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(w, h), ctxReader{ctx, f}, e.Size); err != nil {
		if errors.Is(err, io.EOF) {
			return changed
		}
		return fmt.Errorf("copying %s into the files layer: %w", e.Source, err)
	}
	if fmt.Sprintf("%x", h.Sum(nil)) != e.SHA256 {
		return changed
	}
	return nil
}
