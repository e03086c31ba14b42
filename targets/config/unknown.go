package config

import (
	"errors"
	"os"
	"slices"
	"strings"

	"github.com/gantrybuild/gantry/targets/internal/shared"
)

// CheckOSEnv refuses GANTRY_* variables of the process environment that
// Gantry does not read (see CheckEnviron).
func CheckOSEnv() error { return CheckEnviron(os.Environ()) }

// CheckEnviron refuses GANTRY_* variables in environ ("NAME=value"
// entries, as os.Environ returns) that Gantry does not read: a misspelled
// setting must fail, not build the defaults. The error names the closest
// known variable. GANTRY_ALLOW_UNKNOWN_VARS lists deliberate extras (a
// trailing * matches a prefix). Values are never printed: a misspelled
// password variable holds a secret.
func CheckEnviron(environ []string) error {
	var allow []string
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "GANTRY_ALLOW_UNKNOWN_VARS="); ok && strings.TrimSpace(v) != "" {
			list, err := splitList("GANTRY_ALLOW_UNKNOWN_VARS", v)
			if err != nil {
				return err
			}
			allow = list
		}
	}
	var unknown []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(strings.ToUpper(name), "GANTRY_") || declared(name) || allowed(allow, name) {
			continue
		}
		unknown = append(unknown, name)
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	var parts []string
	for _, name := range unknown {
		msg := "unknown variable " + name
		if near := closest(name); near != "" {
			msg += " (did you mean " + near + "?)"
		}
		parts = append(parts, msg)
	}
	return &shared.NeedStep{
		Err: errors.New(strings.Join(parts, "; ")),
		Fix: "Gantry reads only the variables {config} lists; rename it, unset it, or list variables of your own in GANTRY_ALLOW_UNKNOWN_VARS (e.g. GANTRY_ALLOW_UNKNOWN_VARS=" + unknown[0] + ")",
	}
}

func allowed(allow []string, name string) bool {
	for _, a := range allow {
		if prefix, ok := strings.CutSuffix(a, "*"); ok && strings.HasPrefix(name, prefix) || a == name {
			return true
		}
	}
	return false
}

// closest is the declared GANTRY_* variable nearest to name (ignoring
// case), when it is near enough to be a misspelling of it.
func closest(name string) string {
	upper := strings.ToUpper(name)
	best, bestD := "", -1
	for _, v := range vars {
		if !strings.HasPrefix(v.Name, "GANTRY_") {
			continue
		}
		if d := distance(upper, v.Name); bestD < 0 || d < bestD {
			best, bestD = v.Name, d
		}
	}
	// A misspelling changes a few characters of the part after GANTRY_.
	if bestD < 0 || bestD > max(2, (len(best)-len("GANTRY_"))/3) {
		return ""
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
