package push

import (
	"errors"
	"flag"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gantrybuild/gantry/targets/internal/ocitest"
	"github.com/gantrybuild/gantry/targets/internal/registrytest"
)

var craneBaseline = flag.Bool("crane-baseline", false, "also count how many of the faulty pushes `crane push` completes (slow: ggcr waits 1s and 3s between its tries)")

// theBar is the bar: 20 % of requests answered 5xx and 10 % of blob
// uploads reset halfway through.
var theBar = registrytest.Faults{Status5xx: 0.20, Reset: 0.10}

const faultyPushes = 20

// TestPushThroughFaults pushes a two-arch image faultyPushes times, each to
// a new repository (so every blob is uploaded), through a proxy that fails
// 20 % of requests with 5xx and resets 10 % of blob uploads: every push
// must complete, with the layout's digests.
func TestPushThroughFaults(t *testing.T) {
	reg := registrytest.Start(t)
	proxy := registrytest.NewProxy(t, reg.Host, 20)
	dir, idx := twoArch(t, "v1.4.2", 5)
	proxy.SetFaults(theBar)

	done := 0
	var retries int64
	for i := range faultyPushes {
		repo := fmt.Sprintf("faulty%d", i)
		res, err := pushOne(t, dir, proxy.Repo(repo), withSeed(int64(i+1)))
		if err != nil {
			t.Errorf("push %d: %v", i, err)
			continue
		}
		if got := res.Images[0].Index.Digest; got != idx.Digest {
			t.Errorf("push %d: index %s, want %s", i, got, idx.Digest)
			continue
		}
		if d := remoteDigest(t, reg.Repo(repo+":v1.4.2")); d != idx.Digest.String() {
			t.Errorf("push %d: %s:v1.4.2 names %q, want %s", i, repo, d, idx.Digest)
			continue
		}
		done++
		retries += res.Stats.Retries
	}
	c := proxy.Counts()
	t.Logf("gantry: %d of %d pushes completed; %d requests, %d faults injected, %d retries", done, faultyPushes, c.Requests, c.Injected, retries)
	if c.Injected == 0 {
		t.Fatal("the proxy injected no fault")
	}

	if !*craneBaseline {
		return
	}
	crane := ocitest.NeedTool(t, "crane")
	plain := registrytest.IndexOnlyLayout(t, dir)
	proxy.ResetCounts()
	craneDone := 0
	for i := range faultyPushes {
		ref := proxy.Repo(fmt.Sprintf("crane%d:v1.4.2", i))
		out, err := exec.Command(crane, "push", "--insecure", plain, ref).CombinedOutput()
		if err == nil && remoteDigest(t, reg.Repo(fmt.Sprintf("crane%d:v1.4.2", i))) == idx.Digest.String() {
			craneDone++
		} else {
			t.Logf("crane push %d: %v: %s", i, err, lastLine(string(out)))
		}
	}
	t.Logf("crane push: %d of %d pushes completed under the same faults", craneDone, faultyPushes)
}

// TestPushStallsAnd429 holds some requests far longer than the idle
// timeout and rate-limits others: the push completes.
func TestPushStallsAnd429(t *testing.T) {
	reg := registrytest.Start(t)
	proxy := registrytest.NewProxy(t, reg.Host, 7)
	dir, idx := twoArch(t, "v1.0.0", 6)
	proxy.SetFaults(registrytest.Faults{Status429: 0.15, RetryAfter: "0", Stall: 0.08, StallFor: 10 * time.Second})
	start := time.Now()
	res, err := pushOne(t, dir, proxy.Repo("stalls"), withIdleTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if res.Images[0].Index.Digest != idx.Digest || remoteDigest(t, reg.Repo("stalls:latest")) != idx.Digest.String() {
		t.Errorf("pushed %s, latest names %s; want %s", res.Images[0].Index.Digest, remoteDigest(t, reg.Repo("stalls:latest")), idx.Digest)
	}
	if c := proxy.Counts(); c.Injected == 0 || res.Stats.Retries == 0 {
		t.Errorf("%d faults injected, %d retries: the test tested nothing", c.Injected, res.Stats.Retries)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("push took %s: a stall was waited out instead of cut short", d)
	}
}

// TestPushRegistryDown: when the registry stays down the push fails in one
// line, having moved no tag; when only the tags fail it says the content is
// complete.
func TestPushRegistryDown(t *testing.T) {
	reg := registrytest.Start(t)
	proxy := registrytest.NewProxy(t, reg.Host, 3)
	dir, _ := twoArch(t, "v1.0.0", 7)

	proxy.SetFaults(registrytest.Faults{Down: true})
	_, err := pushOne(t, dir, proxy.Repo("down"))
	if err == nil {
		t.Fatal("push to a registry that is down succeeded")
	}
	if !errors.Is(err, errNoTagMoved) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "503") {
		t.Errorf("error = %q, want one line naming the 503 and saying no tag was moved", err)
	}
	if d := remoteDigest(t, reg.Repo("down:v1.0.0")); d != "" {
		t.Errorf("down:v1.0.0 names %s after a failed push", d)
	}

	proxy.Close()
	start := time.Now()
	_, err = pushOne(t, dir, proxy.Repo("down"))
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("push to a closed port: error = %v, want it to say the registry is unreachable", err)
	}
	t.Logf("push to a closed port failed after %s", time.Since(start).Round(time.Millisecond))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
