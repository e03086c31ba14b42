package ocidir

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestLock(t *testing.T) {
	d := openTemp(t)
	unlock, err := d.Lock(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d.Path() + ".lock"); err != nil {
		t.Errorf("lock file: %v", err)
	}

	// Another Dir on the same layout waits until ctx is done.
	other, err := Open(d.Path())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := other.Lock(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock while held = %v, want context.DeadlineExceeded", err)
	}

	// ... and gets it once released.
	got := make(chan error, 1)
	go func() {
		u, err := other.Lock(t.Context())
		if err == nil {
			u()
		}
		got <- err
	}()
	time.Sleep(50 * time.Millisecond)
	unlock()
	unlock() // twice is harmless
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Lock not granted after unlock")
	}

	// The layout itself holds no lock file.
	checkLayout(t, d.Path())
}

// TestConcurrentWriters runs writers in goroutines (each with its own Dir)
// and in another process, all appending to one index.json under Lock: no
// update may be lost and the layout must validate.
func TestConcurrentWriters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "oci")
	const goroutines, perWriter = 4, 3
	cmd, _ := startHelper(t, "append", dir, helperCountEnv+"=3")

	var wg sync.WaitGroup
	errs := make([]error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			d, err := Open(dir)
			if err == nil {
				err = appendImages(d, perWriter, uint64(g+1))
			}
			errs[g] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper process: %v", err)
	}

	im := checkLayout(t, dir)
	seen := make(map[v1.Hash]bool)
	for _, desc := range im.Manifests {
		seen[desc.Digest] = true
	}
	if want := goroutines*perWriter + 3; len(im.Manifests) != want || len(seen) != want {
		t.Errorf("index.json lists %d manifests (%d distinct), want %d", len(im.Manifests), len(seen), want)
	}
	if tmp := tempFiles(t, dir); len(tmp) != 0 {
		t.Errorf("temp files left: %v", tmp)
	}
}
