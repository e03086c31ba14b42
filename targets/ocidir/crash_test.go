package ocidir

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// crashLoop is the helper the crash test kills: it adds images to the
// layout forever, keeping the last three in index.json and collecting the
// others' blobs, as a long CI job rebuilding into dist/oci would.
func crashLoop(d *Dir) error {
	ctx := context.Background()
	seed := uint64(os.Getpid()) << 20
	for i := uint64(0); ; i++ {
		img := testImage(nil, 3, 256<<10, seed+i)
		unlock, err := d.Lock(ctx)
		if err != nil {
			return err
		}
		desc, err := d.WriteImage(ctx, img)
		if err != nil {
			return err
		}
		im, err := d.IndexJSON()
		if err != nil {
			return err
		}
		ms := append(im.Manifests, desc)
		if len(ms) > 3 {
			ms = ms[len(ms)-3:]
		}
		// Rewrite index.json in several orders, so that kills often
		// land in the middle of a rewrite, not only of a layer.
		for j := range 8 {
			if err := d.WriteIndexJSON(append(ms[j%len(ms):], ms[:j%len(ms)]...)); err != nil {
				return err
			}
		}
		if err := d.GC(); err != nil {
			return err
		}
		unlock()
	}
}

// TestCrashSafety SIGKILLs a process that writes images, index.json and
// collects garbage in a loop, at random moments, and checks the layout
// after every kill. (A kill loses no page cache, so this tests the rename
// discipline, not the fsyncs.)
func TestCrashSafety(t *testing.T) {
	kills := 30
	if testing.Short() {
		kills = 8
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	root := t.TempDir()
	var newTemps, early, beforeOpen, midOpen int
	temps := make(map[string]bool)
	states := make(map[string]bool)
	for i := range kills {
		// Mostly the same long-lived layout, killed once the helper has
		// opened it; every fifth time a new one, killed while the
		// helper starts, ready or not.
		dir := filepath.Join(root, "oci")
		delay := time.Duration(rng.IntN(150)) * time.Millisecond
		fresh := i%5 == 4
		if fresh {
			dir = filepath.Join(root, fmt.Sprintf("fresh-%d", i))
			delay = time.Duration(rng.IntN(20)) * time.Millisecond
			early++
		}
		cmd, out := startHelper(t, "crashloop", dir)
		if !fresh {
			if line, err := out.ReadString('\n'); err != nil || line != "ready\n" {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("helper: %q, %v", line, err)
			}
		}
		time.Sleep(delay)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err == nil {
			t.Fatal("helper exited on its own")
		}

		if _, err := os.Stat(dir); os.IsNotExist(err) {
			beforeOpen++
			continue
		}
		// Whenever oci-layout exists the layout must be whole, before
		// any Open repairs it; and Open must work after any kill.
		if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
			midOpen++
		} else {
			for _, p := range []string{"index.json", "blobs/sha256"} {
				if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
					t.Errorf("oci-layout without %s: %v", p, err)
				}
			}
		}
		checkLayout(t, dir)
		for _, tf := range tempFiles(t, dir) {
			if !temps[tf] {
				temps[tf] = true
				newTemps++
			}
		}
		b, _ := os.ReadFile(filepath.Join(dir, "index.json"))
		states[string(b)] = true
		if t.Failed() {
			t.Fatalf("after kill %d (%v after start; seed %d)", i+1, delay, seed)
		}
	}
	t.Logf("%d kills (%d right after start on a new layout: %d before Open, %d during it): %d temp files left behind, %d distinct index.json states seen",
		kills, early, beforeOpen, midOpen, newTemps, len(states))
}
