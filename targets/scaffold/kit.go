package scaffold

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
)

// KitModule is Gantry's module path.
const KitModule = "github.com/gantrybuild/gantry"

// develVersion is what a consumer requires when a replace directive points
// at a local clone: the version is never fetched.
const develVersion = "v0.0.0-00010101000000-000000000000"

// Kit says which Gantry the consumer's go.mod gets.
type Kit struct {
	Version string // required version
	Dir     string // non-empty: a local clone, added as a replace directive (for development)
}

func (k Kit) String() string {
	if k.Dir != "" {
		return KitModule + " (the local clone " + k.Dir + ")"
	}
	return KitModule + "@" + k.Version
}

// Version returns the Kit of a published version: require it, no replace.
func Version(v string) Kit { return Kit{Version: v} }

// Running finds the Gantry this program was built from: a published version
// when it was built from one (`go run …@v0.4.0`, or a consumer's magefile
// that requires it), else the module or replace directory that `go list`
// reports for Gantry in workDir (a clone of the kit, or a consumer that
// replaces it with one), which becomes a replace directive.
func Running(ctx context.Context, workDir string) (Kit, error) {
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path == KitModule && published(bi.Main.Version) {
			return Kit{Version: bi.Main.Version}, nil
		}
		for _, d := range bi.Deps {
			if d.Path == KitModule && d.Replace == nil && published(d.Version) {
				return Kit{Version: d.Version}, nil
			}
		}
	}
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-json", KitModule)
	cmd.Dir = workDir
	out, err := cmd.Output()
	if err != nil {
		return Kit{}, fmt.Errorf("finding which Gantry runs (go list -m %s in %s): %w; set GANTRY_INIT_KIT to the version to require", KitModule, workDir, err)
	}
	var m struct {
		Version string
		Dir     string
		Main    bool
		Replace *struct{ Version, Dir string }
	}
	if err := json.Unmarshal(out, &m); err != nil {
		return Kit{}, fmt.Errorf("reading go list -m %s: %w", KitModule, err)
	}
	switch {
	case m.Main:
		return Kit{Version: develVersion, Dir: m.Dir}, nil
	case m.Replace != nil && m.Replace.Version == "":
		return Kit{Version: develVersion, Dir: m.Replace.Dir}, nil
	case published(m.Version):
		return Kit{Version: m.Version}, nil
	}
	return Kit{}, fmt.Errorf("cannot tell which Gantry version runs in %s: set GANTRY_INIT_KIT to the version to require", workDir)
}

func published(v string) bool {
	return v != "" && v != "(devel)" && !strings.HasPrefix(v, "v0.0.0-00010101000000")
}

// absDir resolves a clone directory for a replace directive.
func absDir(d string) (string, error) {
	if d == "" {
		return "", nil
	}
	return filepath.Abs(d)
}
