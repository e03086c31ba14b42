package ocitest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSkipLine(t *testing.T) {
	got := skipLine("targets/pipeline", 7, []string{"skopeo", "umoci"})
	want := "gantry: targets/pipeline skipped 7 tests: not installed: skopeo, umoci (`bash .ci/run` installs every client and runs all tests)"
	if got != want {
		t.Errorf("skipLine = %q, want %q", got, want)
	}
	if got := skipLine("templates", 1, []string{"actionlint"}); got != "gantry: templates skipped 1 test: not installed: actionlint (`bash .ci/run` installs every client and runs all tests)" {
		t.Errorf("skipLine for one test = %q", got)
	}
}

// TestNewClients: the test binaries of one go test run name each client
// once (they share the go command's process as parent, as these calls do).
func TestNewClients(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	for _, step := range []struct {
		clients, want []string
	}{
		{[]string{"skopeo", "umoci"}, []string{"skopeo", "umoci"}},
		{[]string{"cosign-v2", "skopeo"}, []string{"cosign-v2"}},
		{[]string{"umoci"}, nil},
	} {
		if got := newClients(step.clients); !cmp.Equal(got, step.want) {
			t.Errorf("newClients(%v) = %v, want %v", step.clients, got, step.want)
		}
	}
}
