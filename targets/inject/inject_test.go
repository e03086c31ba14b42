package inject

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gantrybuild/gantry/targets/config"
	"github.com/gantrybuild/gantry/targets/internal/goenv"
)

func parse(t *testing.T, src string) []*ast.File {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "x.go", "package p\n"+src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	return []*ast.File{f}
}

func TestScan(t *testing.T) {
	src := `
import "strings"
const c = "const"
type S string
var (
	plain string
	lit = "v1"
	typed string = "a" + "b"
	paren = ("x")
	fromConst = c + "-suffix"
	conv = string("x")
	call = strings.ToUpper("x")
	fromVar = lit
	n int
	named S
	inferredInt = 3
	a, b = "a", "b"
	m1, m2 = pair()
	_ = "blank"
)
func pair() (string, string) { return "", "" }
`
	got := Scan("example.com/p", false, true, parse(t, src)).Vars
	ok := []string{"plain", "lit", "typed", "paren", "fromConst", "conv", "a", "b"}
	for _, n := range ok {
		if why, found := got[n]; !found || why != "" {
			t.Errorf("%s: settable = %q, %v; want settable", n, why, found)
		}
	}
	bad := map[string]string{
		"c":           "a constant",
		"call":        "function call",
		"fromVar":     "initialized from lit",
		"n":           "of type int",
		"named":       "of type S",
		"inferredInt": "not of type string",
		"m1":          "several values",
	}
	for n, want := range bad {
		if why := got[n]; !strings.Contains(why, want) {
			t.Errorf("%s: reason %q, want one containing %q", n, why, want)
		}
	}
	if _, found := got["_"]; found {
		t.Error("the blank identifier is listed")
	}
}

func TestDecide(t *testing.T) {
	mainOnly := Package{Path: "main", Main: true, Own: true, Vars: map[string]string{"version": "", "revision": "", "buildTime": ""}}
	verPkg := Package{Path: "example.com/app/internal/version", Own: true, Vars: map[string]string{"Version": "", "GitCommit": "", "BuildDate": "", "userAgent": "initialized from Version"}}
	bareMain := Package{Path: "main", Main: true, Own: true, Vars: map[string]string{}}
	other := Package{Path: "example.com/app/internal/cli", Own: true, Vars: map[string]string{"version": ""}}
	dep := Package{Path: "example.com/lib/version", Vars: map[string]string{"Version": ""}}
	defaults := []config.LinkVar{
		{Role: "version", Field: "VersionVar", Symbol: "main.version"},
		{Role: "revision", Field: "RevisionVar", Symbol: "main.revision"},
		{Role: "build time", Field: "BuildTimeVar", Symbol: "main.buildTime"},
	}
	explicit := func(sym string) []config.LinkVar {
		return []config.LinkVar{{Role: "version", Field: "VersionVar", Symbol: sym, Explicit: true}}
	}
	tests := []struct {
		name    string
		vars    []config.LinkVar
		pkgs    []Package
		use     []string // per var
		problem string   // substring of the first problem ("" for none)
		note    string   // substring of some note
	}{
		{name: "defaults exist", vars: defaults, pkgs: []Package{mainOnly}, use: []string{"main.version", "main.revision", "main.buildTime"}},
		{name: "version package detected", vars: defaults, pkgs: []Package{bareMain, verPkg},
			use:  []string{"example.com/app/internal/version.Version", "example.com/app/internal/version.GitCommit", "example.com/app/internal/version.BuildDate"},
			note: "version → example.com/app/internal/version.Version (detected, as package main declares no version"},
		{name: "main.Version detected before other packages", vars: defaults[:1], pkgs: []Package{{Path: "main", Main: true, Own: true, Vars: map[string]string{"Version": ""}}, verPkg},
			use: []string{"main.Version"}},
		{name: "a package named version wins over another candidate", vars: defaults[:1], pkgs: []Package{bareMain, other, verPkg},
			use: []string{"example.com/app/internal/version.Version"}},
		{name: "two candidates, none named version: nothing, and said", vars: defaults[:1], pkgs: []Package{bareMain, other, {Path: "example.com/app/x", Own: true, Vars: map[string]string{"Version": ""}}},
			use: []string{""}, note: "several candidates: example.com/app/internal/cli.version, example.com/app/x.Version"},
		{name: "a dependency's variable is never guessed", vars: defaults[:1], pkgs: []Package{bareMain, dep},
			use: []string{""}, note: "version: not injected (package main declares no version"},
		{name: "revision is looked for only next to the version", vars: defaults, pkgs: []Package{bareMain, other, {Path: "example.com/app/y", Own: true, Vars: map[string]string{"Commit": ""}}},
			use: []string{"example.com/app/internal/cli.version", "", ""}, note: "revision: not injected"},
		{name: "unsettable default is replaced", vars: defaults[:1], pkgs: []Package{{Path: "main", Main: true, Own: true, Vars: map[string]string{"version": "a constant, which -X cannot set"}}, verPkg},
			use: []string{"example.com/app/internal/version.Version"}, note: "main.version is a constant"},
		{name: "explicit and present", vars: explicit("example.com/lib/version.Version"), pkgs: []Package{bareMain, dep}, use: []string{"example.com/lib/version.Version"}},
		{name: "explicit missing variable", vars: explicit("example.com/app/internal/version.version"), pkgs: []Package{bareMain, verPkg},
			use: []string{""}, problem: "VersionVar example.com/app/internal/version.version cannot receive the version: package example.com/app/internal/version declares no version; set VersionVar"},
		{name: "explicit package outside the build", vars: explicit("example.com/gone.Version"), pkgs: []Package{bareMain},
			use: []string{""}, problem: "package example.com/gone is not part of the build of ./cmd/app"},
		{name: "explicit computed variable", vars: explicit("example.com/app/internal/version.userAgent"), pkgs: []Package{bareMain, verPkg},
			use: []string{""}, problem: "is initialized from Version"},
		{name: "explicit main package by import path", vars: explicit("example.com/app/cmd/app.version"), pkgs: []Package{mainOnly},
			use: []string{""}, problem: "the linker calls the main package example.com/app/cmd/app main, so -X needs main.version"},
		{name: "dash disables", vars: []config.LinkVar{{Role: "version", Field: "VersionVar", Symbol: "-", Explicit: true}}, pkgs: []Package{bareMain}, use: []string{""}},
		{name: "none of the three: one line", vars: defaults, pkgs: []Package{bareMain, dep}, use: []string{"", "", ""},
			note: "nothing injected: no version, revision or build time variable found (the config target says where each was looked for); set VersionVar, RevisionVar and BuildTimeVar to inject them, or \"-\" for none"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan := Decide("./cmd/app", "example.com/app/cmd/app", tc.vars, tc.pkgs)
			var use []string
			for _, in := range plan {
				use = append(use, in.Use)
			}
			if diff := cmp.Diff(tc.use, use); diff != "" {
				t.Errorf("used (-want +got):\n%s\nnotes: %q", diff, plan.Notes())
			}
			err := plan.Err()
			switch {
			case tc.problem == "" && err != nil:
				t.Errorf("Err() = %v, want nil", err)
			case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem)):
				t.Errorf("Err() = %v, want one containing %q", err, tc.problem)
			}
			if tc.note != "" && !strings.Contains(strings.Join(plan.Notes(), "\n"), tc.note) {
				t.Errorf("notes %q lack %q", plan.Notes(), tc.note)
			}
			if strings.HasPrefix(tc.note, "nothing injected") && len(plan.Notes()) != 1 {
				t.Errorf("notes %q, want the one line", plan.Notes())
			}
			if len(plan.Lines()) != len(tc.vars) {
				t.Errorf("Lines() = %q, want one a variable", plan.Lines())
			}
		})
	}
}

func TestPlanVars(t *testing.T) {
	plan := Plan{
		{LinkVar: config.LinkVar{Role: "version"}, Use: "x.Version"},
		{LinkVar: config.LinkVar{Role: "revision"}},
		{LinkVar: config.LinkVar{Role: "build time"}, Use: "main.date"},
	}
	got := plan.Vars(map[string]string{"version": "v1.2.3", "revision": "abc", "build time": ""})
	if diff := cmp.Diff(map[string]string{"x.Version": "v1.2.3"}, got); diff != "" {
		t.Errorf("Vars (-want +got):\n%s", diff)
	}
}

// TestResolveVerpkg checks the detection on testdata/verpkg (vendored, its
// version in internal/version) with the real go list, then that an
// unchanged tree answers from the cache and an edit is noticed.
func TestResolveVerpkg(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "testdata", "verpkg"))); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(t.TempDir(), "inject.json")
	req := Request{
		Dir: dir, Main: "./cmd/verpkg", Platform: v1.Platform{OS: "linux", Architecture: "arm64"}, Vendor: true, CacheFile: cache,
		Vars: []config.LinkVar{
			{Role: "version", Field: "VersionVar", Symbol: "main.version"},
			{Role: "revision", Field: "RevisionVar", Symbol: "main.revision"},
			{Role: "build time", Field: "BuildTimeVar", Symbol: "main.buildTime"},
		},
	}
	ctx := context.Background()
	plan, err := Resolve(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"example.com/verpkg/internal/version.Version":   "v9.9.9",
		"example.com/verpkg/internal/version.GitCommit": "abc",
		"example.com/verpkg/internal/version.BuildDate": "2026-01-01T00:00:00Z",
	}
	if diff := cmp.Diff(want, plan.Vars(map[string]string{"version": "v9.9.9", "revision": "abc", "build time": "2026-01-01T00:00:00Z"})); diff != "" {
		t.Errorf("vars (-want +got):\n%s\nnotes: %q", diff, plan.Notes())
	}
	if len(plan.Notes()) != 3 {
		t.Errorf("notes = %q, want one a detected variable", plan.Notes())
	}

	// The files changed too recently for the first answer to be recorded.
	if _, err := os.Stat(cache); err == nil {
		t.Fatal("a plan was recorded for files changed within the racy window")
	}
	defer func(w time.Duration) { racyWindow = w }(racyWindow)
	racyWindow = 0
	if _, err := Resolve(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cache); err != nil {
		t.Fatalf("no cache recorded: %v", err)
	}
	vars, err := goenv.Read(ctx, "go", dir, os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	if _, state := loadCache(cache, cacheKey(req, vars)); state != planHolds {
		t.Fatal("an unchanged tree does not answer from the cache")
	}

	// An edit that renames the variable is noticed, and an explicit
	// variable that no longer exists fails.
	src := filepath.Join(dir, "internal", "version", "version.go")
	b, _ := os.ReadFile(src)
	os.WriteFile(src, []byte(strings.Replace(string(b), "Version   =", "Release   =", 1)), 0o644)
	req.Vars = []config.LinkVar{{Role: "version", Field: "VersionVar", Symbol: "example.com/verpkg/internal/version.Version", Explicit: true}}
	plan, err = Resolve(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Err(); err == nil || !strings.Contains(err.Error(), "declares no Version") {
		t.Errorf("after renaming the variable, Err() = %v", err)
	}
}

// TestResolveAllOneList resolves testdata/verpkg's two mains together: the
// plans equal those of one Resolve per image, and the go command listed
// packages once (a go wrapper counts its list calls).
func TestResolveAllOneList(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "testdata", "verpkg"))); err != nil {
		t.Fatal(err)
	}
	wrapper, lists := countingGoList(t)
	vars := []config.LinkVar{
		{Role: "version", Field: "VersionVar", Symbol: "main.version"},
		{Role: "revision", Field: "RevisionVar", Symbol: "main.revision"},
		{Role: "build time", Field: "BuildTimeVar", Symbol: "main.buildTime"},
	}
	var reqs []Request
	for _, m := range []string{"./cmd/verpkg", "./cmd/verpkgd"} {
		reqs = append(reqs, Request{Dir: dir, Main: m, Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, Vendor: true, Vars: vars, GoBin: wrapper})
	}
	ctx := context.Background()
	plans, errs := ResolveAll(ctx, reqs)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v", reqs[i].Main, err)
		}
	}
	if n := lists(); n != 1 {
		t.Errorf("go list ran %d times for two images of one module, want 1", n)
	}
	values := map[string]string{"version": "v1", "revision": "r", "build time": "t"}
	for i, req := range reqs {
		one, err := Resolve(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(one.Vars(values), plans[i].Vars(values)); diff != "" {
			t.Errorf("%s: ResolveAll's vars differ from Resolve's (-one +all):\n%s", req.Main, diff)
		}
		if diff := cmp.Diff(one.Notes(), plans[i].Notes()); diff != "" {
			t.Errorf("%s: notes differ (-one +all):\n%s", req.Main, diff)
		}
	}

	// A main that does not exist fails its own image only.
	bad := append([]Request{}, reqs...)
	bad[1].Main = "./cmd/nothere"
	plans, errs = ResolveAll(ctx, bad)
	if errs[0] != nil || plans[0] == nil {
		t.Errorf("the good image failed with the bad one: %v", errs[0])
	}
	if errs[1] == nil && plans[1].Err() == nil {
		t.Errorf("a missing main resolved without an error")
	}
}

// TestScanCache checks that package scans are remembered with the stat
// signatures of their files: a remembered scan answers (a doctored one
// shows through) until one of its files changes.
func TestScanCache(t *testing.T) {
	defer func(w time.Duration) { racyWindow = w }(racyWindow)
	racyWindow = 0
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "testdata", "verpkg"))); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	req := Request{
		Dir: dir, Main: "./cmd/verpkg", Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, Vendor: true,
		CacheFile: filepath.Join(out, "verpkg.json"),
		Vars:      []config.LinkVar{{Role: "version", Field: "VersionVar", Symbol: "main.version"}},
	}
	ctx := context.Background()
	resolve := func() string {
		t.Helper()
		os.Remove(req.CacheFile) // the plan is decided again, from the scans
		plan, err := Resolve(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return plan.Vars(map[string]string{"version": "v1"})["example.com/verpkg/internal/version.Version"]
	}
	if got := resolve(); got != "v1" {
		t.Fatalf("first resolve: internal/version.Version = %q, want v1", got)
	}
	file := scanCacheFile(req.CacheFile)
	c := loadScanCache(file)
	key := scanKey("example.com/verpkg/internal/version", false, true)
	e := c.entries[key]
	if e == nil || len(e.Files) == 0 {
		t.Fatalf("no scan of internal/version remembered in %s: %v", file, c.entries)
	}
	// Doctor the remembered scan: the package seems to declare no Version.
	delete(e.Pkg.Vars, "Version")
	c.dirty = true
	c.save()
	if got := resolve(); got != "" {
		t.Errorf("with a remembered scan that lacks Version, Version = %q; want it not injected (the scan was not reused)", got)
	}
	// A package whose files are gone leaves the file when it is saved.
	c = loadScanCache(file)
	c.entries["example.com/gone own"] = &scanEntry{Files: []string{filepath.Join(dir, "gone", "gone.go")}, Sigs: []string{"x"}}
	c.dirty = true
	c.save()
	if _, ok := loadScanCache(file).entries["example.com/gone own"]; ok {
		t.Error("the scan of a package whose files are gone was kept")
	}
	if _, ok := loadScanCache(file).entries[key]; !ok {
		t.Error("saving dropped the scan of a package that still exists")
	}
	// A touched file makes the package be parsed again.
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(e.Files[0], later, later); err != nil {
		t.Fatal(err)
	}
	if got := resolve(); got != "v1" {
		t.Errorf("after a change to %s, Version = %q; want v1 (parsed again)", e.Files[0], got)
	}
}

// countingGoList returns a go command that counts its go list calls, and
// the count so far.
func countingGoList(t *testing.T) (string, func() int) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	calls := filepath.Join(t.TempDir(), "calls")
	wrapper := filepath.Join(t.TempDir(), "go")
	script := "#!/bin/sh\nif [ \"$1\" = list ]; then echo list >> " + calls + "; fi\nexec " + goBin + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return wrapper, func() int {
		got, _ := os.ReadFile(calls)
		return strings.Count(string(got), "list")
	}
}

// TestPlanWithoutGoList edits testdata/verpkg the ways a developer does:
// an edit go list cannot see (a function body, a declaration, an editor's
// save through a rename) is answered by scanning the recorded packages
// again, without go list, and still decides right; an edit it can see (an
// import, a build constraint, a file added, go.mod) lists again.
func TestPlanWithoutGoList(t *testing.T) {
	defer func(w time.Duration) { racyWindow = w }(racyWindow)
	racyWindow = 0
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "testdata", "verpkg"))); err != nil {
		t.Fatal(err)
	}
	goBin, lists := countingGoList(t)
	req := Request{
		Dir: dir, Main: "./cmd/verpkg", Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, Vendor: true,
		GoBin: goBin, CacheFile: filepath.Join(t.TempDir(), "verpkg.json"),
		Vars: []config.LinkVar{{Role: "version", Field: "VersionVar", Symbol: "main.version"}},
	}
	version := filepath.Join(dir, "internal", "version", "version.go")
	orig, err := os.ReadFile(version)
	if err != nil {
		t.Fatal(err)
	}
	mtime := time.Now().Add(-time.Hour) // in the past: a plan is recorded after each step
	write := func(p, content string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		mtime = mtime.Add(time.Second) // a new signature even on a coarse clock
		os.Chtimes(p, mtime, mtime)
	}
	ctx := context.Background()
	injected := func() string {
		t.Helper()
		plan, err := Resolve(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for sym := range plan.Vars(map[string]string{"version": "v1"}) {
			return sym
		}
		return ""
	}
	const versionVar = "example.com/verpkg/internal/version.Version"
	if got := injected(); got != versionVar || lists() != 1 {
		t.Fatalf("first resolve: %q after %d go lists, want %s after 1", got, lists(), versionVar)
	}
	for _, step := range []struct {
		name  string
		edit  func()
		want  string // the variable injected
		lists int    // go lists it takes
	}{
		{"a function body", func() {
			write(version, strings.Replace(string(orig), "return userAgent", "return userAgent + \"\"", 1))
		}, versionVar, 0},
		{"a declaration: Version renamed", func() {
			write(version, strings.Replace(string(orig), "Version   =", "Release   =", 1))
		}, "", 0},
		{"saved through a temporary file and a rename", func() {
			tmp := version + ".tmp"
			write(tmp, string(orig))
			if err := os.Rename(tmp, version); err != nil {
				t.Fatal(err)
			}
		}, versionVar, 0},
		{"an import added", func() {
			write(version, strings.Replace(string(orig), "package version\n", "package version\n\nimport _ \"strings\"\n", 1))
		}, versionVar, 1},
		{"a build constraint", func() {
			write(version, "//go:build !never\n\n"+string(orig))
		}, versionVar, 1},
		{"a file added", func() {
			write(filepath.Join(dir, "internal", "version", "extra.go"), "package version\n\nvar Extra string\n")
		}, versionVar, 1},
		{"go.mod touched", func() {
			mod := filepath.Join(dir, "go.mod")
			b, _ := os.ReadFile(mod)
			write(mod, string(b))
		}, versionVar, 1},
		{"nothing", func() {}, versionVar, 0},
	} {
		before := lists()
		step.edit()
		if got := injected(); got != step.want {
			t.Errorf("%s: injected %q, want %q", step.name, got, step.want)
		}
		if n := lists() - before; n != step.lists {
			t.Errorf("%s: %d go lists, want %d", step.name, n, step.lists)
		}
	}
}

func TestShapeOf(t *testing.T) {
	dir := t.TempDir()
	const src = "//go:build linux\n\n// Package p is a test.\npackage p\n\nimport (\n\t\"fmt\"\n)\n\nvar V = \"1\"\n\nfunc F() { fmt.Println(V) }\n"
	base := filepath.Join(dir, "base.go")
	if err := os.WriteFile(base, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	want := shapeOf(base)
	if want == "" {
		t.Fatal("no shape for a Go file")
	}
	for _, tc := range []struct {
		name string
		src  string
		same bool
	}{
		{"a function body", strings.Replace(src, "fmt.Println(V)", "fmt.Print(V)", 1), true},
		{"a declaration", strings.Replace(src, "var V = \"1\"", "var W = \"2\"", 1), true},
		{"a comment at the end", src + "// more\n", true},
		{"an import", strings.Replace(src, "\"fmt\"", "\"fmt\"\n\t\"os\"", 1), false},
		{"the build constraint", strings.Replace(src, "linux", "darwin", 1), false},
		{"the package name", strings.Replace(src, "package p", "package q", 1), false},
		{"the package doc", strings.Replace(src, "is a test", "is an example", 1), false},
		{"a header that does not parse", strings.Replace(src, "package p", "packag p", 1), false},
	} {
		p := filepath.Join(dir, "x.go")
		if err := os.WriteFile(p, []byte(tc.src), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := shapeOf(p); (got == want) != tc.same || got == "" && tc.same {
			t.Errorf("%s: shape equal = %v, want %v", tc.name, got == want, tc.same)
		}
	}
	os.Remove(filepath.Join(dir, "x.go"))
	d := shapeOf(dir)
	if d == "" {
		t.Fatal("no shape for a directory")
	}
	if err := os.WriteFile(filepath.Join(dir, "tmp"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "tmp"), base); err != nil {
		t.Fatal(err)
	}
	if shapeOf(dir) != d {
		t.Error("a save through a rename changed the directory's shape")
	}
	os.WriteFile(filepath.Join(dir, "new.go"), []byte("package p\n"), 0o644)
	if shapeOf(dir) == d {
		t.Error("a file added left the directory's shape as it was")
	}
	for _, p := range []string{filepath.Join(dir, "missing.go"), filepath.Join(dir, "go.mod")} {
		os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module p\n"), 0o644)
		if got := shapeOf(p); got != "" {
			t.Errorf("shapeOf(%s) = %q, want none", filepath.Base(p), got)
		}
	}
}
