package assemble

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"
)

// syntheticBinary writes size bytes that compress roughly like an
// executable (runs of random bytes, repeats and zero padding).
func syntheticBinary(t testing.TB, dir string, size int64) string {
	t.Helper()
	p := filepath.Join(dir, "synthetic")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	rng := rand.New(rand.NewChaCha8([32]byte{1}))
	block := make([]byte, 4096)
	for n := int64(0); n < size; n += int64(len(block)) {
		switch rng.IntN(4) {
		case 0, 1:
			for i := range block {
				block[i] = byte(rng.IntN(256))
			}
		case 2:
			const text = "mov rax, rbx; call runtime.morestack\x00"
			for i := range block {
				block[i] = text[i%len(text)]
			}
		case 3:
			clear(block)
		}
		if _, err := w.Write(block[:min(int64(len(block)), size-n)]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// toolchainBinary writes size bytes of real executables (the Go toolchain's,
// repeated as needed), for throughput numbers that mean something.
func toolchainBinary(b *testing.B, dir string, size int64) string {
	b.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		b.Skipf("go env GOROOT: %v", err)
	}
	root := strings.TrimSpace(string(out))
	srcs, _ := filepath.Glob(filepath.Join(root, "pkg", "tool", runtime.GOOS+"_"+runtime.GOARCH, "*"))
	srcs = append(srcs, filepath.Join(root, "bin", "go"))
	p := filepath.Join(dir, "toolchain")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for n := int64(0); n < size; {
		for _, s := range srcs {
			src, err := os.Open(s)
			if err != nil {
				b.Fatal(err)
			}
			m, err := io.CopyN(f, src, size-n)
			src.Close()
			n += m
			if err != nil && err != io.EOF {
				b.Fatal(err)
			}
			if n >= size {
				break
			}
		}
	}
	return p
}

// measure runs f and returns the bytes it allocated and the peak of live
// heap objects above what was live before it started (sampled every ms).
func measure(f func()) (alloc, peak uint64) {
	runtime.GC()
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(samples)
	before := samples[0].Value.Uint64()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	allocBefore := ms.TotalAlloc

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > before && v-before > peak {
				peak = v - before
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc - allocBefore, peak
}

// TestPackMemoryIsBounded: packing a binary 8 times larger allocates no
// more (the layer is streamed, never held).
func TestPackMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("packs 72 MB per compression")
	}
	dir := t.TempDir()
	small, large := syntheticBinary(t, dir, 8<<20), syntheticBinary(t, t.TempDir(), 64<<20)
	for _, c := range compressions {
		t.Run(c.name, func(t *testing.T) {
			var allocs, peaks [2]uint64
			for i, bin := range []string{small, large} {
				store := newStore(t)
				req := &Request{Store: store, Binary: bin, CacheDir: t.TempDir()}
				allocs[i], peaks[i] = measure(func() {
					if _, err := appLayer(context.Background(), req, "/usr/local/bin/app", testCreated, c.mt); err != nil {
						t.Fatal(err)
					}
				})
			}
			t.Logf("allocated %.1f MB for 8 MB, %.1f MB for 64 MB; peak heap %.1f MB and %.1f MB",
				mb(allocs[0]), mb(allocs[1]), mb(peaks[0]), mb(peaks[1]))
			// Allowed growth: far below the 56 MB a held copy would add.
			if allocs[1] > allocs[0]+4<<20 {
				t.Errorf("packing 64 MB allocated %.1f MB, 8 MB %.1f MB: memory grows with binary size", mb(allocs[1]), mb(allocs[0]))
			}
		})
	}
}

func mb(n uint64) float64 { return float64(n) / (1 << 20) }

// BenchmarkPackLayer packs real executables (60 MB and 8 MB) into a layout
// without the cache; it reports throughput and the peak heap of one pack.
func BenchmarkPackLayer(b *testing.B) {
	for _, size := range []int64{8 << 20, 60 << 20} {
		bin := toolchainBinary(b, b.TempDir(), size)
		for _, c := range compressions {
			b.Run(fmt.Sprintf("%s/%dMB", c.name, size>>20), func(b *testing.B) {
				b.SetBytes(size)
				b.ReportAllocs()
				var peak uint64
				var compressed int64
				for b.Loop() {
					store := newStore(b)
					_, p := measure(func() {
						l, err := appLayer(context.Background(), &Request{Store: store, Binary: bin}, "/usr/local/bin/app", testCreated, c.mt)
						if err != nil {
							b.Fatal(err)
						}
						compressed, _ = l.Size()
					})
					peak = max(peak, p)
				}
				b.ReportMetric(mb(peak), "peak-heap-MB")
				b.ReportMetric(float64(compressed)/float64(size)*100, "%-of-input")
			})
		}
	}
}

// BenchmarkStaticBase packs the static base layer (no cache).
func BenchmarkStaticBase(b *testing.B) {
	for _, c := range compressions {
		b.Run(c.name, func(b *testing.B) {
			var size int64
			for b.Loop() {
				base, err := ResolveBase(context.Background(), "static", amd64, WithCompression(c.name))
				if err != nil {
					b.Fatal(err)
				}
				ls, err := base.Image.Layers()
				if err != nil {
					b.Fatal(err)
				}
				size, _ = ls[0].Size()
			}
			b.ReportMetric(float64(size)/1024, "layer-KB")
		})
	}
}
