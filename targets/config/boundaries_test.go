package config_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const modulePath = "github.com/gantrybuild/gantry"

// repoRoot is the module root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("module "+modulePath+"\n")) {
		t.Fatalf("%s/go.mod is not module %s", root, modulePath)
	}
	return root
}

// TestEnvReadOnlyInConfig walks every non-test Go file of the repository
// and fails when one outside targets/config reads a Gantry variable
// (GANTRY_* or SOURCE_DATE_EPOCH) from the process environment: the config
// package reads the environment, so `go tool mage config` lists every knob.
func TestEnvReadOnlyInConfig(t *testing.T) {
	root := repoRoot(t)
	configDir := filepath.Join(root, "targets", "config")
	files := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || name == "dist") {
				return filepath.SkipDir
			}
			if p == configDir {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		rel, _ := filepath.Rel(root, p)
		for _, r := range envReads(t, rel, src) {
			t.Errorf("%s reads the environment outside targets/config; register the variable in config.Vars() and read it through config.Load", r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 20 {
		t.Fatalf("walked only %d Go files under %s; is the root right?", files, root)
	}
}

// TestEnvReadsDetector checks the detector TestEnvReadOnlyInConfig relies on.
func TestEnvReadsDetector(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want int // reads found
	}{
		{"getenv literal", `package p; import "os"; var _ = os.Getenv("GANTRY_PLATFORMS")`, 1},
		{"lookupenv literal", `package p; import "os"; func f() { _, _ = os.LookupEnv("SOURCE_DATE_EPOCH") }`, 1},
		{"renamed import", `package p; import xos "os"; var _ = xos.Getenv("GANTRY_OUT")`, 1},
		{"constant", `package p; import "os"; const v = "GANTRY_JOBS"; var _ = os.Getenv(v)`, 1},
		{"concatenation", `package p; import "os"; var _ = os.Getenv("GANTRY_" + "MAIN")`, 1},
		{"syscall", `package p; import "syscall"; func f() { syscall.Getenv("GANTRY_BASE") }`, 1},
		{"environ scanned for a prefix", `package p; import ("os"; "strings"); func f() { for _, kv := range os.Environ() { _ = strings.HasPrefix(kv, "GANTRY_") } }`, 1},
		{"other variable", `package p; import "os"; var _ = os.Getenv("HOME")`, 0},
		{"environ passed to a child", `package p; import "os"; var _ = append(os.Environ(), "GOFLAGS=")`, 0},
		{"string mentioning a variable", `package p; var _ = "set GANTRY_ALLOW_DIRTY=1"`, 0},
		{"another package's Getenv", `package p; import "example.com/os"; var _ = os.Getenv("GANTRY_OUT")`, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := envReads(t, "x.go", []byte(tc.src)); len(got) != tc.want {
				t.Errorf("found %d reads %q, want %d", len(got), got, tc.want)
			}
		})
	}
}

// envReads lists the places in a Go file that read a Gantry variable from
// the environment: os.Getenv/os.LookupEnv/syscall.Getenv with a GANTRY_* or
// SOURCE_DATE_EPOCH name (a literal, a constant of the file, or a
// concatenation starting with one), and functions that call os.Environ and
// also mention such a name.
func envReads(t *testing.T, name string, src []byte) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("parsing %s: %v", name, err)
	}
	imports := map[string]string{} // local name → import path
	for _, im := range f.Imports {
		path, _ := strconv.Unquote(im.Path.Value)
		local := path[strings.LastIndex(path, "/")+1:]
		if im.Name != nil {
			local = im.Name.Name
		}
		imports[local] = path
	}
	consts := map[string]string{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, id := range vs.Names {
				if i < len(vs.Values) {
					if s, ok := stringValue(vs.Values[i], nil); ok {
						consts[id.Name] = s
					}
				}
			}
		}
	}
	// call returns the import path and function of a pkg.Func(...) call.
	call := func(n ast.Node) (string, string, *ast.CallExpr) {
		c, ok := n.(*ast.CallExpr)
		if !ok {
			return "", "", nil
		}
		sel, ok := c.Fun.(*ast.SelectorExpr)
		if !ok {
			return "", "", nil
		}
		x, ok := sel.X.(*ast.Ident)
		if !ok {
			return "", "", nil
		}
		return imports[x.Name], sel.Sel.Name, c
	}
	var out []string
	report := func(n ast.Node, what string) {
		out = append(out, fset.Position(n.Pos()).String()+": "+what)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		pkg, fn, c := call(n)
		if c == nil || len(c.Args) != 1 {
			return true
		}
		if (pkg == "os" && (fn == "Getenv" || fn == "LookupEnv")) || (pkg == "syscall" && fn == "Getenv") {
			if s, ok := stringValue(c.Args[0], consts); ok && gantryVar(s) {
				report(c, pkg+"."+fn+"("+strconv.Quote(s)+")")
			}
		}
		return true
	})
	for _, decl := range f.Decls {
		var environ ast.Node
		var mentions bool
		ast.Inspect(decl, func(n ast.Node) bool {
			if pkg, fn, c := call(n); c != nil && pkg == "os" && fn == "Environ" {
				environ = c
			}
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				s, _ := strconv.Unquote(lit.Value)
				mentions = mentions || gantryVar(s)
			}
			return true
		})
		if environ != nil && mentions {
			report(environ, "os.Environ() in a function that looks up a Gantry variable")
		}
	}
	return out
}

// stringValue evaluates a string literal, a constant, or a concatenation
// whose first operand is one of those.
func stringValue(e ast.Expr, consts map[string]string) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.Ident:
		s, ok := consts[e.Name]
		return s, ok
	case *ast.ParenExpr:
		return stringValue(e.X, consts)
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			return stringValue(e.X, consts)
		}
	}
	return "", false
}

// gantryVar reports whether s is, or starts like, a variable Gantry owns.
func gantryVar(s string) bool {
	return strings.HasPrefix(s, "GANTRY_") || strings.HasPrefix(s, "SOURCE_DATE_EPOCH")
}

// TestEnginePackagesDoNotImportMage checks that only the targets package
// (the mage adapters) depends on mage: every engine package must work as a
// plain Go library.
func TestEnginePackagesDoNotImportMage(t *testing.T) {
	root := repoRoot(t)
	cmd := exec.Command("go", "list", "-json=ImportPath,Deps", "./targets/...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	deps := map[string][]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Deps       []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		deps[p.ImportPath] = p.Deps
	}
	usesMage := func(pkg string) bool {
		return slices.ContainsFunc(deps[pkg], func(d string) bool {
			return d == "github.com/magefile/mage" || strings.HasPrefix(d, "github.com/magefile/mage/")
		})
	}

	adapters := modulePath + "/targets"
	if !usesMage(adapters) {
		t.Fatalf("%s does not depend on mage; the check below would prove nothing (packages: %v)", adapters, slices.Sorted(maps.Keys(deps)))
	}
	var engine, offenders []string
	for pkg := range deps {
		if pkg == adapters {
			continue
		}
		engine = append(engine, pkg)
		if usesMage(pkg) {
			offenders = append(offenders, pkg)
		}
	}
	slices.Sort(offenders)
	if diff := cmp.Diff([]string(nil), offenders); diff != "" {
		t.Errorf("engine packages that depend on github.com/magefile/mage (-want +got):\n%s", diff)
	}
	for _, want := range []string{"config", "compile", "assemble", "ocidir", "index", "pipeline", "reproduce", "vendorcheck"} {
		if !slices.Contains(engine, modulePath+"/targets/"+want) {
			t.Errorf("go list did not list the engine package targets/%s", want)
		}
	}
}
