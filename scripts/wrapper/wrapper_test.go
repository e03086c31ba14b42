package wrapper_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gantrybuild/gantry/scripts/wrapper"
)

const root = "../.."

// TestWrapperIsCurrent fails when a checked-in copy of the generated
// targets (init's template, the kit's own magefiles/gantry.go) is not what
// the engine's targets generate: a target added to package targets must
// reach consumers' `go tool mage -l`.
func TestWrapperIsCurrent(t *testing.T) {
	want, err := wrapper.Generate(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range wrapper.Paths {
		got, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s is stale (run go tool mage docs) (-generated +file):\n%s", p, diff)
		}
	}
}

// TestWrapperCoversEveryTarget checks the generated file against the
// engine's exported targets, independently of the generator's own parse:
// every "func Name(ctx" and "func (Ns) Name(ctx" of package targets shows
// up, running the engine target mage would call.
func TestWrapperCoversEveryTarget(t *testing.T) {
	b, err := wrapper.Generate(root)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	files, _ := filepath.Glob(filepath.Join(root, "targets", "*.go"))
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(src), "\n") {
			if !strings.HasPrefix(line, "func ") || !strings.Contains(line, "(ctx context.Context") {
				continue
			}
			sig := strings.TrimPrefix(line, "func ")
			ns := ""
			if strings.HasPrefix(sig, "(") {
				ns = strings.ToLower(strings.Trim(sig[:strings.Index(sig, ")")+1], "()")) + ":"
				sig = strings.TrimSpace(sig[strings.Index(sig, ")")+1:])
			}
			name := sig[:strings.Index(sig, "(")]
			if name == "" || name[0] < 'A' || name[0] > 'Z' {
				continue
			}
			n++
			if want := `gantry.Run(ctx, "` + ns + strings.ToLower(name) + `"`; !strings.Contains(got, want) {
				t.Errorf("the wrapper has no %s", want)
			}
		}
	}
	if n < 15 {
		t.Errorf("found only %d targets in package targets", n)
	}
}
