package assemble

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gantrybuild/gantry/targets/assets"
	"github.com/gantrybuild/gantry/targets/internal/statcache"
)

// BenchmarkFilesLayer measures the files layer of a web app's assets
// (1,000 files of 4–40 kB, ~22 MB, in 50 directories): "pack" resolves,
// hashes and packs them with no cache (a fresh clone's first release),
// "noop" is a rebuild with nothing changed (stat signatures, one cache
// lookup). Run: go test -run '^$' -bench FilesLayer ./targets/assemble/
func BenchmarkFilesLayer(b *testing.B) {
	dir := b.TempDir()
	rng := rand.New(rand.NewChaCha8([32]byte{2}))
	for i := range 1000 {
		p := filepath.Join(dir, "web", fmt.Sprintf("d%02d", i%50), fmt.Sprintf("f%04d.txt", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		data := make([]byte, 4096+rng.IntN(36*1024))
		for j := range data {
			data[j] = "abcdefghij <div>\n"[rng.IntN(17)]
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(statcache.RacyWindow) // let the files age, so their signatures are trusted
	specs := []assets.Spec{{Field: "Files[0]", Src: "web", Dst: "/srv/web"}}
	store := newStore(b)
	run := func(b *testing.B, cacheDir string) {
		ctx := context.Background()
		entries, err := assets.Resolve(dir, specs, assets.Options{})
		if err != nil {
			b.Fatal(err)
		}
		statFile := ""
		if cacheDir != "" {
			statFile = filepath.Join(cacheDir, "files.stat.txt")
		}
		if err := assets.Sum(ctx, entries, statFile); err != nil {
			b.Fatal(err)
		}
		mt, _ := layerMediaType(Gzip)
		req := Request{Store: store, Files: entries, CacheDir: cacheDir}
		if _, err := filesLayer(ctx, &req, mt, false); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("pack", func(b *testing.B) {
		for b.Loop() {
			run(b, "")
		}
	})
	b.Run("noop", func(b *testing.B) {
		cacheDir := b.TempDir()
		run(b, cacheDir) // warm the caches
		b.ResetTimer()
		for b.Loop() {
			run(b, cacheDir)
		}
	})
}
