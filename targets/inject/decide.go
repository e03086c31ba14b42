// Package inject decides, before anything builds, which variables the
// linker's -X sets to the version, revision and build time, and checks
// that each exists as a string variable -X can set in the main package's
// build: the linker ignores -X for a missing variable without a word, so
// a wrong name would ship a binary that does not know its version.
//
// A configured variable that cannot be set is an error naming the variable
// and the field to change. A default (main.version, …) that the program
// does not declare is replaced by a string variable of the main package's
// module that the program imports and whose name says what it holds
// (version/Version, commit/revision, buildTime/date, …); what was detected
// is stated in the release log and in `mage config`, and with nothing (or
// more than one thing) to detect, nothing is injected and that is said too.
package inject

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/gantrybuild/gantry/targets/config"
)

// Injection is what one configured -X variable resolved to.
type Injection struct {
	config.LinkVar
	Use      string // what -X sets; "" for nothing
	Detected bool   // Use was detected, not configured
	Problem  string // the configured variable cannot be set: the build must not run
	Note     string // one line for the log and `mage config` ("" when Use is the variable as configured)
	Absent   bool   // nothing to detect: no variable of the role where it was looked for
}

// Plan is the injections of one image: version, revision, build time.
type Plan []Injection

// Vars returns the -X pairs: values maps a role (version, revision, build
// time) to its value; a role with nothing to set or no value is left out.
func (p Plan) Vars(values map[string]string) map[string]string {
	out := map[string]string{}
	for _, in := range p {
		if v := values[in.Role]; in.Use != "" && v != "" {
			out[in.Use] = v
		}
	}
	return out
}

// Err joins the problems, one line each (nil when there is none).
func (p Plan) Err() error {
	var errs []error
	for _, in := range p {
		if in.Problem != "" {
			errs = append(errs, errors.New(in.Problem))
		}
	}
	return errors.Join(errs...)
}

// Notes are the lines that say what was detected or left out. A program
// with none of the variables gets one line, not one per role (Lines, for
// `mage config`, still says where each was looked for).
func (p Plan) Notes() []string {
	if len(p) > 1 && !slices.ContainsFunc(p, func(in Injection) bool { return !in.Absent }) {
		var roles, fields []string
		for _, in := range p {
			roles, fields = append(roles, in.Role), append(fields, in.Field)
		}
		return []string{fmt.Sprintf("nothing injected: no %s variable found (the config target says where each was looked for); set %s to inject them, or \"-\" for none",
			joinOr(roles, "or"), joinOr(fields, "and"))}
	}
	var out []string
	for _, in := range p {
		switch {
		case in.Problem != "":
			out = append(out, in.Problem)
		case in.Note != "":
			out = append(out, in.Note)
		}
	}
	return out
}

// Lines describe every injection, one line each, for `mage config`: a
// problem is marked with "!".
func (p Plan) Lines() []string {
	var out []string
	for _, in := range p {
		switch {
		case in.Problem != "":
			out = append(out, "! "+in.Problem)
		case in.Note != "":
			out = append(out, in.Note)
		case in.Use != "":
			out = append(out, in.Role+" → "+in.Use)
		default:
			out = append(out, in.Role+": not injected ("+in.Field+" is \"-\")")
		}
	}
	return out
}

// joinOr joins words as a sentence does: a, b or c.
func joinOr(words []string, conj string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + conj + " " + words[len(words)-1]
}

// names are the variable names looked for, per role, in order of
// preference.
var names = map[string][]string{
	"version":    {"version", "Version"},
	"revision":   {"revision", "Revision", "commit", "Commit", "gitCommit", "GitCommit"},
	"build time": {"buildTime", "BuildTime", "buildDate", "BuildDate", "date", "Date"},
}

// Decide resolves vars against the packages of the main package's build
// (mainPkg is how the image names it, e.g. ./cmd/app; mainPath its import
// path, which -X does not accept: the linker calls it main).
func Decide(mainPkg, mainPath string, vars []config.LinkVar, pkgs []Package) Plan {
	byPath := map[string]Package{}
	for _, p := range pkgs {
		byPath[p.Path] = p
	}
	plan := make(Plan, 0, len(vars))
	versionPkg := "main"
	for _, v := range vars {
		in := Injection{LinkVar: v}
		if v.Symbol == "-" || v.Symbol == "" {
			plan = append(plan, in)
			continue
		}
		pkgPath, name := split(v.Symbol)
		why := ""
		switch p, ok := byPath[pkgPath]; {
		case pkgPath == mainPath && mainPath != "main":
			why = fmt.Sprintf("the linker calls the main package %s main, so -X needs main.%s", mainPath, name)
		case !ok:
			why = fmt.Sprintf("package %s is not part of the build of %s", pkgPath, mainPkg)
		default:
			reason, declared := p.Vars[name]
			switch {
			case !declared:
				why = fmt.Sprintf("package %s declares no %s", pkgPath, name)
			case reason != "":
				why = fmt.Sprintf("%s is %s", v.Symbol, reason)
			}
		}
		switch {
		case why == "":
			in.Use = v.Symbol
		case v.Explicit:
			in.Problem = fmt.Sprintf("%s %s cannot receive the %s: %s; set %s to a string variable of the build (e.g. main.%s), or \"-\" to inject none", v.Field, v.Symbol, v.Role, why, v.Field, names[v.Role][0])
		default:
			in.Use, in.Detected, in.Note, in.Absent = detect(v, why, mainPkg, versionPkg, pkgs)
		}
		if v.Role == "version" && in.Use != "" {
			versionPkg, _ = split(in.Use)
		}
		plan = append(plan, in)
	}
	return plan
}

// detect looks for a variable for v's role, whose default (why) is not
// there: in the main package, else (for the version) in the packages of the
// main package's module, else (for the revision and build time) in the
// package the version was found in.
func detect(v config.LinkVar, why, mainPkg, versionPkg string, pkgs []Package) (use string, detected bool, note string, absent bool) {
	type found struct{ pkg, name string }
	var cands []found
	for _, p := range pkgs {
		inScope := p.Main || (v.Role == "version" && p.Own) || p.Path == versionPkg
		if !inScope {
			continue
		}
		for _, n := range names[v.Role] {
			if reason, ok := p.Vars[n]; ok && reason == "" {
				cands = append(cands, found{p.Path, n})
				break // one name per package, in order of preference
			}
		}
	}
	// The main package first; then a package named version.
	pick := func(keep func(found) bool) []found {
		var out []found
		for _, c := range cands {
			if keep(c) {
				out = append(out, c)
			}
		}
		return out
	}
	if m := pick(func(c found) bool { return c.pkg == "main" }); len(m) > 0 {
		cands = m
	} else if len(cands) > 1 {
		if named := pick(func(c found) bool { return path.Base(c.pkg) == "version" }); len(named) > 0 {
			cands = named
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].pkg < cands[j].pkg })
	switch len(cands) {
	case 1:
		sym := cands[0].pkg + "." + cands[0].name
		return sym, true, fmt.Sprintf("%s → %s (detected, as %s; set %s to choose another, or \"-\" for none)", v.Role, sym, why, v.Field), false
	case 0:
		where := "the main package"
		if v.Role == "version" {
			where = "the packages of its module that " + mainPkg + " imports"
		} else if versionPkg != "main" {
			where = "the main package or " + versionPkg
		}
		return "", false, fmt.Sprintf("%s: not injected (%s, and no string variable named %s in %s); set %s to inject it", v.Role, why, strings.Join(names[v.Role], "/"), where, v.Field), true
	}
	var syms []string
	for _, c := range cands {
		syms = append(syms, c.pkg+"."+c.name)
	}
	syms = slices.Compact(syms)
	return "", false, fmt.Sprintf("%s: not injected (%s, and several candidates: %s); set %s to one of them", v.Role, why, strings.Join(syms, ", "), v.Field), false
}

// split cuts an -X symbol into import path and name.
func split(sym string) (string, string) {
	i := strings.LastIndex(sym, ".")
	if i < 0 {
		return "", sym
	}
	return sym[:i], sym[i+1:]
}
