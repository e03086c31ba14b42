package compile

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/platform"
)

// Args returns the go command's arguments that build req.Package to out,
// which should be absolute because go build runs in req.Dir. The -X pairs
// are sorted by name so the command line is deterministic. The platform is
// not among them: it is in the environment (see Env).
func Args(req Request, out string) ([]string, error) {
	args, err := buildFlags(req)
	if err != nil {
		return nil, err
	}
	return append(args, "-o", out, req.Package), nil
}

// buildFlags is the go build command line without the output and the
// package.
func buildFlags(req Request) ([]string, error) {
	args := []string{"build", "-trimpath", "-buildvcs=false"}
	if req.Vendor {
		args = append(args, "-mod=vendor")
	}
	if len(req.Tags) > 0 {
		for _, tag := range req.Tags {
			if tag == "" || strings.ContainsAny(tag, ", \t\n\"'") {
				return nil, fmt.Errorf("build tag %q is empty or contains a comma, space or quote: give one tag per element", tag)
			}
		}
		args = append(args, "-tags", strings.Join(req.Tags, ","))
	}
	ld := []string{"-s", "-w"}
	for _, k := range slices.Sorted(maps.Keys(req.Vars)) {
		if k == "" || strings.ContainsAny(k, "= \t\n\"'") {
			return nil, fmt.Errorf("-X variable name %q is empty or contains '=', a space or a quote: use an import path and name like main.version", k)
		}
		ld = append(ld, "-X", k+"="+req.Vars[k])
	}
	ld = append(ld, req.Ldflags...)
	ldflags, err := joinQuoted(ld)
	if err != nil {
		return nil, err
	}
	return append(args, "-ldflags", ldflags), nil
}

// Env returns the environment that builds for p: base without its
// CGO_ENABLED, GOOS, GOARCH and architecture level settings (GOARM, GOAMD64,
// …), then CGO_ENABLED=0 and platform.GoEnv(p). Everything else, GOFLAGS,
// GOCACHE and GOPROXY included, is kept.
func Env(base []string, p v1.Platform) []string {
	return append(baseEnv(base), platform.GoEnv(p)...)
}

func baseEnv(base []string) []string {
	drop := append([]string{"CGO_ENABLED", "GOOS", "GOARCH"}, platform.LevelVars()...)
	env := make([]string, 0, len(base)+4)
	for _, kv := range base {
		if k, _, _ := strings.Cut(kv, "="); !slices.Contains(drop, k) {
			env = append(env, kv)
		}
	}
	return append(env, "CGO_ENABLED=0")
}

// joinQuoted joins linker arguments the way the go command splits -ldflags
// (cmd/internal/quoted): an argument with a space or quote is wrapped in
// the quote it does not contain.
func joinQuoted(args []string) (string, error) {
	quoted := make([]string, len(args))
	for i, a := range args {
		switch {
		case !strings.ContainsAny(a, " \t\n\r'\""):
			quoted[i] = a
		case !strings.Contains(a, "'"):
			quoted[i] = "'" + a + "'"
		case !strings.Contains(a, `"`):
			quoted[i] = `"` + a + `"`
		default:
			return "", fmt.Errorf("linker argument %q contains both single and double quotes, which -ldflags cannot carry: drop one kind", a)
		}
	}
	return strings.Join(quoted, " "), nil
}
