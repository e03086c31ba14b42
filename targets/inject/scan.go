package inject

import (
	"fmt"
	"go/ast"
	"go/token"
	"strconv"
)

// Package is what the linker's -X can reach in one package of the build:
// its package-level names and whether -X can set each.
type Package struct {
	Path string // import path ("main" for the main package, as -X names it)
	Main bool   // the main package
	Own  bool   // in the main package's module (where a version variable is looked for)
	// Vars maps each package-level var and const name to "" when -X can set
	// it (a string variable, uninitialized or initialized to a constant
	// string expression), else to why not.
	Vars map[string]string
}

// Scan lists the package-level names of a package's files (the ones the
// build compiles for the target platform) and whether -X can set them.
// The linker sets a variable of type string that is uninitialized or
// initialized to a constant expression; it ignores one initialized by a
// function call or from another variable, and a constant, without a word,
// and refuses one of another type.
func Scan(path string, main, own bool, files []*ast.File) Package {
	p := Package{Path: path, Main: main, Own: own, Vars: map[string]string{}}
	consts := map[string]bool{}
	for _, f := range files {
		for _, decl := range f.Decls {
			if gd, ok := decl.(*ast.GenDecl); ok && gd.Tok == token.CONST {
				for _, spec := range gd.Specs {
					for _, n := range spec.(*ast.ValueSpec).Names {
						consts[n.Name] = true
						p.Vars[n.Name] = "a constant, which -X cannot set"
					}
				}
			}
		}
	}
	for _, f := range files {
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if n.Name == "_" {
						continue
					}
					var value ast.Expr
					if len(vs.Values) == len(vs.Names) {
						value = vs.Values[i]
					} else if len(vs.Values) > 0 {
						p.Vars[n.Name] = "initialized by a call returning several values"
						continue
					}
					p.Vars[n.Name] = settable(vs.Type, value, consts)
				}
			}
		}
	}
	return p
}

// settable says why -X cannot set a variable of type typ initialized to
// value ("" when it can).
func settable(typ, value ast.Expr, consts map[string]bool) string {
	if typ != nil {
		if id, ok := typ.(*ast.Ident); !ok || id.Name != "string" {
			return fmt.Sprintf("of type %s, not string", types(typ))
		}
	}
	if value == nil {
		if typ == nil {
			return "of no known type"
		}
		return ""
	}
	if why := constString(value, consts); why != "" {
		if typ == nil && why == notString {
			return "not of type string"
		}
		return why
	}
	return ""
}

const notString = "not a string"

// constString says why e is not a constant string expression ("" when it
// is): string literals, constants of the package, + and parentheses.
func constString(e ast.Expr, consts map[string]bool) string {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			return ""
		}
		return notString
	case *ast.ParenExpr:
		return constString(e.X, consts)
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return notString
		}
		if why := constString(e.X, consts); why != "" {
			return why
		}
		return constString(e.Y, consts)
	case *ast.Ident:
		if consts[e.Name] {
			return ""
		}
		return "initialized from " + e.Name + ", not a constant (the linker ignores -X for it)"
	case *ast.CallExpr:
		if id, ok := e.Fun.(*ast.Ident); ok && id.Name == "string" && len(e.Args) == 1 {
			return constString(e.Args[0], consts)
		}
		return "initialized by a function call (the linker ignores -X for it)"
	}
	return "initialized by an expression that is not a constant string (the linker ignores -X for it)"
}

// types renders a type expression for a message.
func types(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return types(e.X) + "." + e.Sel.Name
	case *ast.StarExpr:
		return "*" + types(e.X)
	case *ast.ArrayType:
		return "[]" + types(e.Elt)
	case *ast.BasicLit:
		return strconv.Quote(e.Value)
	}
	return fmt.Sprintf("%T", e)
}
