package inject

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
)

// shapeOf returns, hashed, what go list reads of p, whose answer (the
// packages, their files and imports) depends on nothing else of it: for a
// directory the names and types of its entries (a file added, removed or
// renamed changes the packages; an editor's save through a temporary file
// and a rename does not), for a .go file its header, every byte up to the
// end of its imports (build constraints, package clause, imports, a cgo
// preamble). It returns "" for anything else and for what it cannot read,
// which never matches: go.mod, go.sum and the like are compared by stat
// signature only.
func shapeOf(p string) string {
	fi, err := os.Stat(p)
	if err != nil {
		return ""
	}
	switch {
	case fi.IsDir():
		return dirShape(p)
	case fi.Mode().IsRegular() && strings.HasSuffix(p, ".go"):
		src, err := os.ReadFile(p)
		if err != nil {
			return ""
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "", src, parser.ImportsOnly|parser.SkipObjectResolution)
		if err != nil {
			return ""
		}
		return goShape(fset, f, src)
	}
	return ""
}

// dirShape is the shape of directory p: its entries' names and types.
func dirShape(p string) string {
	entries, err := os.ReadDir(p)
	if err != nil {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "dir\n")
	for _, e := range entries {
		fmt.Fprintf(h, "%q %s\n", e.Name(), e.Type())
	}
	return hex.EncodeToString(h.Sum(nil))
}

// goShape is the shape of a Go file parsed from src (its imports at
// least; a whole file gives the same): src up to where its imports end,
// or its package clause when it has none.
func goShape(fset *token.FileSet, f *ast.File, src []byte) string {
	last := f.Name.End()
	for _, d := range f.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT && gd.End() > last {
			last = gd.End()
		}
	}
	h := sha256.New()
	fmt.Fprintf(h, "go\n")
	h.Write(src[:fset.Position(last).Offset])
	return hex.EncodeToString(h.Sum(nil))
}
