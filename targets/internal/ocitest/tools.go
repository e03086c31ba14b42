package ocitest

import (
	"os"
	"os/exec"
	"testing"
)

// NeedTool returns the path of an outside client the test needs. When it is
// missing the test is skipped on a developer machine, but fails under CI=true,
// where .ci/run installs every tool by package name.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not on PATH; .ci/run must install it", name)
	}
	t.Skipf("%s is not on PATH (install it to run this test; CI does)", name)
	return ""
}
