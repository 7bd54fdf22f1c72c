package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// backends are the concrete backends outside auth/authn/ and auth/authz/:
// docker_auth's MongoDB and SQL stores, the external programs and
// webhooks, the browser sign-ins. Each holds everything it builds on (its
// connection, the program runner), so no backend imports another.
var backends = []string{
	"wharf/internal/auth/mongo", "wharf/internal/auth/xorm", "wharf/internal/auth/external", "wharf/internal/auth/signin",
}

// backendImportExceptions are the other packages that import one backend,
// each for a reason that is not picking it.
var backendImportExceptions = map[[2]string]string{
	{"wharf/internal/config", "wharf/internal/auth/authn/static"}:      "users: is parsed into static's types",
	{"wharf/internal/adminuser", "wharf/internal/auth/authn/htpasswd"}: "the admin's hash file is an htpasswd file",
}

// isBackend reports whether path is a concrete authentication or
// authorization backend (or a connection one uses), as opposed to the
// interfaces (authn, authz), the vocabulary (auth), the token engine and
// server, and the conformance suites.
func isBackend(path string) bool {
	if slices.Contains(backends, path) {
		return true
	}
	for _, parent := range []string{"wharf/internal/auth/authn/", "wharf/internal/auth/authz/"} {
		if rest, ok := strings.CutPrefix(path, parent); ok && !strings.Contains(rest, "/") && !strings.HasSuffix(rest, "test") {
			return true
		}
	}
	return false
}

// backendImportViolations lists the imports of concrete backends by
// packages that may not: only authstack, which builds the chains, and
// server, the composition root, pick backends; backendImportExceptions
// list the rest.
func backendImportViolations(pkgs map[string]pkgInfo) []string {
	var out []string
	for _, path := range slices.Sorted(maps.Keys(pkgs)) {
		if path == "wharf/internal/authstack" || path == "wharf/internal/server" {
			continue
		}
		for _, imp := range pkgs[path].Imports {
			switch {
			case !isBackend(imp):
			case backendImportExceptions[[2]string{path, imp}] != "":
			default:
				out = append(out, path+" imports "+imp)
			}
		}
	}
	return out
}

// TestOnlyTheStackPicksBackends: the concrete backends are imported by
// authstack (and the server), never by the commands, the doctor or the
// APIs, which reach them through authstack's builders.
func TestOnlyTheStackPicksBackends(t *testing.T) {
	pkgs := listPackages(t)
	for _, v := range backendImportViolations(pkgs) {
		t.Errorf("%s: only authstack builds backends; use its builders (docs/architecture.md)", v)
	}
	// The rule sees what it is about: authstack imports every backend.
	for _, want := range append([]string{"wharf/internal/auth/authn/ldap"}, backends...) {
		if !slices.Contains(pkgs["wharf/internal/authstack"].Imports, want) {
			t.Errorf("authstack does not import %s: is the list of backends out of date?", want)
		}
	}
}

// TestBackendRuleCatchesPlantedImports plants forbidden imports in a copy
// of the package graph and checks that the rule reports each, and only
// those.
func TestBackendRuleCatchesPlantedImports(t *testing.T) {
	pkgs := listPackages(t)
	if v := backendImportViolations(pkgs); len(v) != 0 {
		t.Fatalf("the real graph already breaks the rule: %v", v)
	}
	planted := map[string]string{
		"wharf/internal/cli":                 "wharf/internal/auth/authn/ldap",
		"wharf/internal/doctor":              "wharf/internal/auth/authn/htpasswd",
		"wharf/internal/adminapi":            "wharf/internal/auth/authn/static",
		"wharf/internal/accounts":            "wharf/internal/auth/authn/ldap",
		"wharf/internal/auth/authn/htpasswd": "wharf/internal/auth/authn/ldap",
	}
	for path, imp := range planted {
		p := pkgs[path]
		p.Imports = append(slices.Clone(p.Imports), imp)
		pkgs[path] = p
	}
	got := backendImportViolations(pkgs)
	var want []string
	for path, imp := range planted {
		want = append(want, path+" imports "+imp)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("violations %v; want %v", got, want)
	}
}

// TestServerExportsLifecycleOnly: the server is started and stopped, and
// nothing else; what the commands share with it lives in authstack and
// datadir.
func TestServerExportsLifecycleOnly(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "server", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	allowed := []string{"Server", "New", "Server.Serve", "Server.Close"}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range exported(af) {
			if !slices.Contains(allowed, name) {
				t.Errorf("%s: server exports %s; it exports only %v (move what the commands share to authstack or datadir)", f, name, allowed)
			}
		}
	}
}

// exported lists a file's exported top-level names and methods (as
// Type.Method).
func exported(f *ast.File) []string {
	var out []string
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() {
				continue
			}
			name := d.Name.Name
			if d.Recv != nil && len(d.Recv.List) > 0 {
				t := d.Recv.List[0].Type
				if s, ok := t.(*ast.StarExpr); ok {
					t = s.X
				}
				if id, ok := t.(*ast.Ident); ok {
					name = id.Name + "." + name
				}
			}
			out = append(out, name)
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					if s.Name.IsExported() {
						out = append(out, s.Name.Name)
					}
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if n.IsExported() {
							out = append(out, n.Name)
						}
					}
				}
			}
		}
	}
	return out
}
