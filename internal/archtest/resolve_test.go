package archtest

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestConfigurationIsValidatedOnce: every command gets its configuration
// from resolve, which validates it once; no other package of the binary
// calls Validate on one (a second, later check is how a bad setting used
// to be found after the data directory was made). A package that imports
// config and calls a method named Validate fails here; should such a call
// be on another type, name the method differently.
func TestConfigurationIsValidatedOnce(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "wharf/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Dir        string
			GoFiles    []string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(p.Imports, "wharf/internal/config") || p.ImportPath == "wharf/internal/config/resolve" {
			continue
		}
		checked++
		for _, name := range p.GoFiles { // test files excluded: tests validate what they build
			path := filepath.Join(p.Dir, name)
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if call, ok := n.(*ast.CallExpr); ok {
					if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Validate" && len(call.Args) == 0 {
						t.Errorf("%s calls %s.Validate(); configurations are validated once, by resolve.Config", path, exprString(sel.X))
					}
				}
				return true
			})
		}
	}
	if checked < 5 {
		t.Fatalf("only %d packages import config; the test looks at the wrong thing", checked)
	}
}

func exprString(e ast.Expr) string {
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return "…"
}
