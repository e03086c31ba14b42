package ocitest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

// goTools are the outside clients a test can build from the Go module
// proxy when they are missing, pinned to the versions .ci/run installs.
// The others (skopeo, umoci, oci-image-tool, qemu from the system's
// packages; cosign, whose build takes minutes) are installed by .ci/run.
var goTools = map[string]string{
	"registry": "github.com/distribution/distribution/v3/cmd/registry@v3.1.2",
	"crane":    "github.com/google/go-containerregistry/cmd/crane@v0.22.1",
}

// ToolsDir is where tools are cached: gantry-tools/bin in the user's cache
// directory (~/.cache/gantry-tools/bin), .ci/run's default. (.ci/run puts
// its directory, $GANTRY_TOOLS/bin, on PATH, where NeedTool looks first.)
func ToolsDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "gantry-tools", "bin")
}

// NeedTool returns the path of an outside client the test needs: from
// PATH, else from the tool cache (ToolsDir). The registry and crane are
// built into the cache from the Go module proxy the first time a test needs
// them (once per machine, under a lock shared by parallel test binaries).
// Another missing tool skips the test on a developer machine (SkipMissing),
// but fails it under CI=true, where .ci/run installs every tool. With
// -short, every test that needs an outside process skips.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	return NeedTools(t, name)[0]
}

// NeedTools is NeedTool for clients a test needs together (the sigstore
// servers): when some are missing, the skip names every one of them.
func NeedTools(t testing.TB, names ...string) []string {
	t.Helper()
	if testing.Short() {
		t.Skipf("-short: needs %s, outside processes (go test ./... runs them)", strings.Join(names, ", "))
	}
	var paths, missing []string
	for _, name := range names {
		p, err := findTool(name)
		if err != nil {
			t.Log(err)
		}
		if p == "" {
			missing = append(missing, name)
		}
		paths = append(paths, p)
	}
	if len(missing) > 0 {
		SkipMissing(t, missing...)
	}
	return paths
}

// findTool looks for name on PATH, then in the tool cache, then builds it
// there when it is one of goTools; "" when it is missing (err: why a build
// failed).
func findTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	cached := filepath.Join(ToolsDir(), name)
	if fi, err := os.Stat(cached); err == nil && !fi.IsDir() {
		return cached, nil
	}
	pkg, buildable := goTools[name]
	if !buildable {
		return "", nil
	}
	if err := build(name, pkg); err != nil {
		return "", fmt.Errorf("building %s from the module proxy failed: %v", name, err)
	}
	return cached, nil
}

// build installs pkg into the tool cache as name, unless another test
// binary did while this one waited for the lock.
func build(name, pkg string) error {
	dir := ToolsDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	lock := flock.New(filepath.Join(dir, ".lock"))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if ok, err := lock.TryLockContext(ctx, 200*time.Millisecond); err != nil || !ok {
		return fmt.Errorf("locking %s: %v", dir, err)
	}
	defer lock.Unlock()
	if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
		return nil
	}
	tmp, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "go", "install", pkg)
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go install %s: %v\n%s", pkg, err, out)
	}
	path, _, _ := strings.Cut(pkg, "@")
	return os.Rename(filepath.Join(tmp, filepath.Base(path)), filepath.Join(dir, name))
}
