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
	h := sha256.New()
	switch {
	case fi.IsDir():
		entries, err := os.ReadDir(p)
		if err != nil {
			return ""
		}
		fmt.Fprintf(h, "dir\n")
		for _, e := range entries {
			fmt.Fprintf(h, "%q %s\n", e.Name(), e.Type())
		}
	case fi.Mode().IsRegular() && strings.HasSuffix(p, ".go"):
		src, err := os.ReadFile(p)
		if err != nil {
			return ""
		}
		end, ok := headerEnd(src)
		if !ok {
			return ""
		}
		fmt.Fprintf(h, "go\n")
		h.Write(src[:end])
	default:
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// headerEnd is the offset in a Go file's source where its imports end, or
// its package clause when it has none; ok is false when the header does
// not parse.
func headerEnd(src []byte) (end int, ok bool) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ImportsOnly|parser.SkipObjectResolution)
	if err != nil {
		return 0, false
	}
	last := f.Name.End()
	for _, d := range f.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT && gd.End() > last {
			last = gd.End()
		}
	}
	return fset.Position(last).Offset, true
}
