package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// successStatuses are the net/http status names a handler may write by
// hand: everything else is an error, which goes through errcode's table.
var successStatuses = map[string]bool{
	"StatusContinue": true, "StatusOK": true, "StatusCreated": true, "StatusAccepted": true,
	"StatusNoContent": true, "StatusResetContent": true, "StatusPartialContent": true,
	"StatusMovedPermanently": true, "StatusFound": true, "StatusSeeOther": true, "StatusNotModified": true,
	"StatusTemporaryRedirect": true, "StatusPermanentRedirect": true,
}

// TestErrorsGoThroughErrcode: no package but errcode writes an error
// response by hand — no http.Error, http.NotFound or WriteHeader with an
// error status, and no hand-written error body — so that every error
// answer is an entry of the one table (see docs/architecture.md).
func TestErrorsGoThroughErrcode(t *testing.T) {
	fset := token.NewFileSet()
	var files int
	for _, root := range []string{"../../internal", "../../cmd"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel := filepath.ToSlash(path)
			if d.IsDir() && (strings.HasSuffix(rel, "internal/errcode") || strings.HasSuffix(rel, "internal/testserver")) {
				return filepath.SkipDir // the table's writers; test doubles of foreign servers
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			files++
			for _, problem := range handWrittenErrors(f) {
				t.Errorf("%s: %s; answer with errcode (WriteOCI, WriteToken, WriteAdmin or a code's Status)", fset.Position(problem.pos), problem.what)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 100 {
		t.Fatalf("read %d Go files; the walk missed the tree", files)
	}
}

type problem struct {
	pos  token.Pos
	what string
}

func handWrittenErrors(f *ast.File) []problem {
	var out []problem
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "http" && (sel.Sel.Name == "Error" || sel.Sel.Name == "NotFound") {
				out = append(out, problem{n.Pos(), "http." + sel.Sel.Name})
			}
			if sel.Sel.Name == "WriteHeader" && len(n.Args) == 1 && isErrorStatus(n.Args[0]) {
				out = append(out, problem{n.Pos(), "WriteHeader with an error status"})
			}
		case *ast.BasicLit:
			if n.Kind == token.STRING {
				if s, err := strconv.Unquote(n.Value); err == nil && (strings.Contains(s, `"errors":[`) || strings.Contains(s, `"error":{`)) {
					out = append(out, problem{n.Pos(), "a hand-written error body"})
				}
			}
		}
		return true
	})
	return out
}

// isErrorStatus reports whether e is a constant error status: an
// http.Status name not in successStatuses, or a number of 400 or more.
func isErrorStatus(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.SelectorExpr:
		pkg, ok := e.X.(*ast.Ident)
		return ok && pkg.Name == "http" && strings.HasPrefix(e.Sel.Name, "Status") && !successStatuses[e.Sel.Name]
	case *ast.BasicLit:
		n, err := strconv.Atoi(e.Value)
		return err == nil && n >= 400
	}
	return false
}
