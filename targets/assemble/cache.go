package assemble

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"

	"github.com/gantrybuild/gantry/targets/ocidir"
)

// cacheFormat versions the layer cache: bump it whenever the bytes a layer is
// packed into change for the same inputs (tar headers, entry order…), so a
// stale entry can never stand for a layer Gantry would now write differently.
const cacheFormat = 1

// layerCache maps a key describing a layer's inputs to the blob already
// packed for them: CacheDir/layers/<sha256 of key>.json.
type layerCache struct {
	dir string // "" disables the cache
}

// cacheKey hashes the inputs that fully determine a layer's bytes. The
// compressor's module version is part of it: another klauspost/compress may
// compress the same tar to other bytes.
func cacheKey(kind string, parts ...string) string {
	h := sha256.New()
	fmt.Fprintf(h, "gantry layer cache v%d\n%s\ncompressor %s\n", cacheFormat, kind, compressorVersion())
	for _, p := range parts {
		fmt.Fprintf(h, "%q\n", p)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

var compressorVersion = sync.OnceValue(func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/klauspost/compress" {
				if d.Replace != nil {
					d = d.Replace
				}
				return d.Version
			}
		}
	}
	return "unknown"
})

func (c layerCache) file(key string) string {
	return filepath.Join(c.dir, "layers", key+".json")
}

// lookup returns the cached layer for key when its blob is in store and
// verifies (digest and size); a missing, unreadable or stale entry is a miss.
func (c layerCache) lookup(store *ocidir.Dir, key string) (layerInfo, bool, error) {
	if c.dir == "" || store == nil {
		return layerInfo{}, false, nil
	}
	b, err := os.ReadFile(c.file(key))
	if errors.Is(err, fs.ErrNotExist) {
		return layerInfo{}, false, nil
	} else if err != nil {
		return layerInfo{}, false, fmt.Errorf("reading layer cache: %w", err)
	}
	var info layerInfo
	if err := json.Unmarshal(b, &info); err != nil || info.Digest.Hex == "" || info.DiffID.Hex == "" || info.Size <= 0 {
		return layerInfo{}, false, nil // corrupt entry: repack and overwrite it
	}
	ok, err := store.HasBlob(info.Digest, info.Size)
	if err != nil {
		return layerInfo{}, false, fmt.Errorf("checking cached layer %s: %w", info.Digest, err)
	}
	return info, ok, nil
}

// store records info under key atomically (temp file and rename), so a
// concurrent reader sees the old entry, the new one or none.
func (c layerCache) store(key string, info layerInfo) error {
	if c.dir == "" {
		return nil
	}
	dir := filepath.Join(c.dir, "layers")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating layer cache: %w", err)
	}
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("writing layer cache: %w", err)
	}
	defer os.Remove(f.Name()) // no-op after the rename
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("writing layer cache: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing layer cache: %w", err)
	}
	if err := os.Rename(f.Name(), c.file(key)); err != nil {
		return fmt.Errorf("writing layer cache: %w", err)
	}
	return nil
}
