package assemble

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gantrybuild/gantry/targets/internal/statcache"
	"github.com/gantrybuild/gantry/targets/ocidir"
	"github.com/gantrybuild/gantry/targets/platform"
)

// appLayer returns the layer holding the binary at p (absolute path in the
// image), from the cache when an identical layer is already in the store,
// else packed in one pass into the store.
func appLayer(ctx context.Context, req *Request, p string, created time.Time, mt types.MediaType) (v1.Layer, error) {
	f, err := os.Open(req.Binary)
	if err != nil {
		return nil, fmt.Errorf("opening binary: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("opening binary: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("binary %s is not a regular file", req.Binary)
	}
	size := fi.Size()

	cache := layerCache{dir: req.CacheDir}
	var key string
	var content v1.Hash // sha256 of the binary, when the cache is on
	if cache.dir != "" {
		// The binary's digest, remembered by its stat signature: when the
		// compile step skipped go build, the file is untouched since. When
		// go build found it up to date it only moved its times, and its
		// build ID, which ends in a hash of its content, says so.
		stats := statcache.Load(filepath.Join(cache.dir, "layers", "binary-"+filepath.Base(req.Binary)+".stat.txt"))
		hexSum, err := stats.ValueByID(req.Binary, statcache.SHA256, goBuildID, func(r io.Reader) (string, error) {
			h := sha256.New()
			n, err := io.Copy(h, ctxReader{ctx, r})
			if err != nil {
				return "", fmt.Errorf("hashing binary %s: %w", req.Binary, err)
			}
			if n != size {
				return "", fmt.Errorf("binary %s changed while being read (size %d, read %d)", req.Binary, size, n)
			}
			return sum(h).Hex, nil
		})
		if err != nil {
			return nil, err
		}
		_ = stats.Save() // best effort: a failure means hashing again next time
		content = v1.Hash{Algorithm: "sha256", Hex: hexSum}
		parts := []string{
			"binary " + content.String(),
			"path " + p,
			"created " + created.Format(time.RFC3339),
			"media type " + string(mt),
		}
		if platform.IsWindows(req.Platform) {
			parts = append(parts, "windows layer "+windowsBinarySD)
		}
		key = cacheKey("app", parts...)
		info, ok, err := cache.lookup(req.Store, key)
		if err != nil {
			return nil, err
		}
		if ok {
			return fileLayer(info, req.Store.BlobPath(info.Digest)), nil
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
	}

	if req.onPack != nil {
		req.onPack()
	}
	var src io.Reader = f
	h := sha256.New()
	if cache.dir != "" {
		src = io.TeeReader(f, h) // the cache key must describe what was packed
	}
	fill := fillBinary
	if platform.IsWindows(req.Platform) {
		fill = fillWindowsBinary
	}
	info, err := packToStore(req.Store, mt, fill(ctx, src, size, p, created))
	if err != nil {
		return nil, fmt.Errorf("packing %s: %w", req.Binary, err)
	}
	if cache.dir != "" {
		if got := sum(h); got != content {
			return nil, fmt.Errorf("binary %s changed while being packed", req.Binary)
		}
		if err := cache.store(key, info); err != nil {
			return nil, err
		}
	}
	return fileLayer(info, req.Store.BlobPath(info.Digest)), nil
}

// packToStore packs a layer straight into a staged blob of store, which
// hashes and counts what it is written (the layer's digest and size).
func packToStore(store *ocidir.Dir, mt types.MediaType, fill func(*tar.Writer) error) (layerInfo, error) {
	st, err := store.Stage()
	if err != nil {
		return layerInfo{}, err
	}
	defer st.Abort()
	diffID, err := compressTar(st, mt, fill)
	if err != nil {
		return layerInfo{}, err
	}
	d, n, err := st.Commit(v1.Hash{})
	if err != nil {
		return layerInfo{}, fmt.Errorf("committing layer: %w", err)
	}
	return layerInfo{Digest: d, DiffID: diffID, Size: n, MediaType: mt}, nil
}
