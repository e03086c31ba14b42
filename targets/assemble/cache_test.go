package assemble

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// countPacks returns a Request seam counting real packs.
func countPacks(n *int) func() { return func() { *n++ } }

func TestLayerCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bin := writeFile(t, dir, "app", []byte("version 1"))
	store := newStore(t)
	cacheDir := filepath.Join(dir, "cache")
	packs := 0
	base := Request{Store: store, Binary: bin, Name: "app", CacheDir: cacheDir, onPack: countPacks(&packs)}

	layer := func(t *testing.T, req Request) layerInfo {
		t.Helper()
		p, err := inImagePath(req.BinDir, req.Name)
		if err != nil {
			t.Fatal(err)
		}
		mt, err := layerMediaType(req.Compression)
		if err != nil {
			t.Fatal(err)
		}
		l, err := appLayer(ctx, &req, p, normTime(req.Created), mt)
		if err != nil {
			t.Fatal(err)
		}
		return l.(*blobLayer).info
	}

	first := layer(t, base)
	if packs != 1 {
		t.Fatalf("first build packed %d times, want 1", packs)
	}
	if got := layer(t, base); packs != 1 || got != first {
		t.Errorf("unchanged binary: packed %d times in all, layer %v; want 1 pack and %v", packs, got, first)
	}

	// Every input of the layer is part of the key.
	changes := []struct {
		name string
		req  func(Request) Request
	}{
		{"compression", func(r Request) Request { r.Compression = Zstd; return r }},
		{"created", func(r Request) Request { r.Created = r.Created.Add(time.Second); return r }},
		{"name", func(r Request) Request { r.Name = "other"; return r }},
		{"bin dir", func(r Request) Request { r.BinDir = "/app"; return r }},
		{"content", func(r Request) Request {
			r.Binary = writeFile(t, t.TempDir(), "app", []byte("version 2"))
			return r
		}},
	}
	for _, c := range changes {
		before := packs
		if got := layer(t, c.req(base)); packs != before+1 || got == first {
			t.Errorf("changed %s: packed %d times, layer %s; want a new pack and a new layer", c.name, packs-before, got.Digest)
		}
	}

	// A cache hit needs the blob: missing or corrupt, it is packed again.
	if err := os.Remove(store.BlobPath(first.Digest)); err != nil {
		t.Fatal(err)
	}
	before := packs
	if got := layer(t, base); packs != before+1 || got != first {
		t.Errorf("blob removed: packed %d times, layer %v; want a repack to %v", packs-before, got, first)
	}
	if err := os.WriteFile(store.BlobPath(first.Digest), []byte("corrupt"), 0o644); err != nil {
		t.Fatal(err)
	}
	before = packs
	if got := layer(t, base); packs != before+1 || got != first {
		t.Errorf("blob corrupt: packed %d times, layer %v; want a repack to %v", packs-before, got, first)
	}

	// A corrupt entry is a miss and is rewritten.
	entries, err := filepath.Glob(filepath.Join(cacheDir, "layers", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e, ".json") {
			t.Errorf("stray file in cache: %s", e)
		}
		if err := os.WriteFile(e, []byte("{not json"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before = packs
	if got := layer(t, base); packs != before+1 || got != first {
		t.Errorf("entry corrupt: packed %d times, layer %v; want a repack to %v", packs-before, got, first)
	}
	if layer(t, base); packs != before+1 {
		t.Errorf("entry rewritten: packed %d more times, want a hit", packs-before-1)
	}
}

func TestLayerCacheEntry(t *testing.T) {
	dir := t.TempDir()
	c := layerCache{dir: dir}
	info := layerInfo{
		Digest:    v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)},
		DiffID:    v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("b", 64)},
		Size:      42,
		MediaType: mediaTypeGzip,
	}
	if err := c.store("k", info); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "layers", "k.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"digest":"sha256:` + strings.Repeat("a", 64) + `","diffID":"sha256:` + strings.Repeat("b", 64) +
		`","size":42,"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip"}` + "\n"
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("cache entry (-want +got):\n%s", diff)
	}
}

func TestCacheKeyDependsOnEveryPart(t *testing.T) {
	keys := map[string]string{}
	for _, parts := range [][]string{{"a", "b"}, {"a", "c"}, {"ab"}, {"a\nb"}, {"b", "a"}} {
		k := cacheKey("app", parts...)
		if prev, ok := keys[k]; ok {
			t.Errorf("cacheKey(%q) = cacheKey(%q)", parts, prev)
		}
		keys[k] = strings.Join(parts, "|")
	}
	if cacheKey("app", "x") == cacheKey("static", "x") {
		t.Error("cacheKey ignores the kind")
	}
}
