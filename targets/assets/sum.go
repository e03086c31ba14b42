package assets

import (
	"archive/tar"
	"context"
	"fmt"

	"github.com/gantrybuild/gantry/targets/internal/statcache"
)

// Sum fills in the SHA-256 of every regular file of entries, read again
// only when its stat signature changed since cacheFile recorded it ("": no
// cache, every file is read).
func Sum(ctx context.Context, entries []Entry, cacheFile string) error {
	stats := statcache.Load(cacheFile)
	for i := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := &entries[i]
		if e.Type != tar.TypeReg {
			continue
		}
		hex, err := stats.Sum(e.Source)
		if err != nil {
			return fmt.Errorf("%s: hashing %s: %w", e.From, e.Source, err)
		}
		e.SHA256 = hex
	}
	if cacheFile != "" {
		_ = stats.Save() // best effort: a failure means hashing again next time
	}
	return nil
}
