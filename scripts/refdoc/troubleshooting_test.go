package refdoc_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestTroubleshootingMatchesCode keeps docs/troubleshooting.md from
// drifting: every error quoted in its tables is made of words that a
// string literal in the engine's sources still holds. The table shortens
// messages (… stands for filled-in values, quoted values are examples), so
// each quoted error is cut at those, and every run of three or more words
// left must appear in some literal (with its format verbs); the table
// writes a step the error names as `go tool mage <step>`.
func TestTroubleshootingMatchesCode(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root, "docs", "troubleshooting.md"))
	if err != nil {
		t.Fatal(err)
	}
	literals := sourceLiterals(t, filepath.Join(root, "targets"))
	cell := regexp.MustCompile("`([^`]+)`")
	// Cut at example values (quoted, platforms, versions, numbers) and at
	// punctuation that a message may build from several strings.
	cut := regexp.MustCompile(`"[^"]*"|…|\(|\)|: |:$|;|=|,|\blinux/[a-z0-9/.]+|\bgo1\.[0-9.]+|\bv[0-9]+\.[0-9]+\.[0-9]+|\b[0-9]+\b|env://[A-Za-z_]*|<[a-z ]+>|[a-z]+/[a-z]+\.go`)
	// The engine names the steps a fix runs as {step} (shared.NeedStep);
	// the user sees the command their repository runs mage with.
	step := regexp.MustCompile(`go tool mage ([a-z][a-z:]*)`)
	checked := 0
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first := strings.SplitN(line, " | ", 2)[0]
		for _, m := range cell.FindAllStringSubmatch(first, -1) {
			for _, piece := range cut.Split(m[1], -1) {
				piece = strings.TrimSpace(piece)
				if len(strings.Fields(piece)) < 3 {
					continue
				}
				checked++
				if !containsAny(literals, step.ReplaceAllString(piece, "{$1}")) {
					t.Errorf("docs/troubleshooting.md quotes %q (in %q), which no string in targets/ holds: update the table to the message the code prints", piece, m[1])
				}
			}
		}
	}
	if checked < 50 {
		t.Errorf("checked only %d phrases of the troubleshooting table: has its format changed?", checked)
	}
}

func containsAny(literals []string, s string) bool {
	for _, l := range literals {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// sourceLiterals returns the string literals of the non-test Go files
// under dir, with adjacent literals joined by + concatenation.
func sourceLiterals(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BinaryExpr:
				if s, ok := concat(n); ok {
					out = append(out, s)
				}
			case *ast.BasicLit:
				if n.Kind == token.STRING {
					if s, err := strconv.Unquote(n.Value); err == nil {
						out = append(out, strings.ReplaceAll(s, "`", ""))
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// concat joins a + chain of string literals (other operands count as a
// space, as a value the message fills in).
func concat(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		l, lok := concat(e.X)
		r, rok := concat(e.Y)
		if !lok && !rok {
			return "", false
		}
		return strings.ReplaceAll(l+" "+r, "`", ""), true
	}
	return " ", true
}
