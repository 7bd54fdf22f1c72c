package archtest

import (
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fileRule forbids imports to some files of one package. A backend package
// holds parts that were packages of their own (a connection, a user store,
// a rule store; a program runner and the protocols on top of it); the
// parts keep the separations they had then.
type fileRule struct {
	dir   string   // the package's directory, relative to this one
	files []string // the files the rule is about
	// notImports are what none of the files may import: whole import
	// paths, or a path ending in "/" for the packages below it.
	notImports []string
}

// fileViolations lists how the files break rules; a file that is gone is
// reported too, so that a rule never outlives what it guards.
func fileViolations(rules []fileRule) []string {
	var out []string
	fset := token.NewFileSet()
	for _, r := range rules {
		for _, name := range r.files {
			path := filepath.Join(r.dir, name)
			f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
			if err != nil {
				out = append(out, fmt.Sprintf("%s: %v", path, err))
				continue
			}
			for _, spec := range f.Imports {
				imp, err := strconv.Unquote(spec.Path.Value)
				if err != nil {
					out = append(out, fmt.Sprintf("%s: %v", path, err))
					continue
				}
				if matches(imp, r.notImports) {
					out = append(out, fmt.Sprintf("%s imports %s; its part of the package may not import %v", path, imp, r.notImports))
				}
			}
		}
	}
	return out
}

func TestFileRules(t *testing.T) {
	const (
		authPkg  = "wharf/internal/auth"
		authnPkg = "wharf/internal/auth/authn"
		authzPkg = "wharf/internal/auth/authz"
	)
	rules := []fileRule{
		// The program runner knows no protocol and no HTTP; ext_auth and
		// ext_authz give its answers meaning, each on its own side. Only
		// the webhooks speak HTTP.
		{dir: "../auth/external", files: []string{"program.go"}, notImports: []string{"net/http", authPkg, authnPkg, authzPkg}},
		{dir: "../auth/external", files: []string{"extauth.go"}, notImports: []string{"net/http", authzPkg}},
		{dir: "../auth/external", files: []string{"extauthz.go"}, notImports: []string{"net/http", authnPkg}},
		// The connections know neither side; the user stores are not
		// authorizers and the rule stores not authenticators.
		{dir: "../auth/mongo", files: []string{"conn.go"}, notImports: []string{authnPkg, authzPkg}},
		{dir: "../auth/mongo", files: []string{"users.go"}, notImports: []string{authzPkg}},
		{dir: "../auth/mongo", files: []string{"rules.go"}, notImports: []string{authnPkg}},
		{dir: "../auth/xorm", files: []string{"db.go"}, notImports: []string{authPkg, authnPkg, authzPkg}},
		{dir: "../auth/xorm", files: []string{"users.go"}, notImports: []string{authzPkg}},
		{dir: "../auth/xorm", files: []string{"rules.go"}, notImports: []string{authnPkg}},
		// The sign-in flow, its store and the GitHub and GitLab providers
		// need no OpenID Connect library; only the OIDC provider and the ID
		// tokens do.
		{dir: "../auth/signin", files: []string{"api.go", "authenticator.go", "github.go", "gitlab.go", "login.go", "pages.go", "store.go"},
			notImports: []string{"github.com/coreos/go-oidc/"}},
	}
	for _, v := range fileViolations(rules) {
		t.Error(v)
	}
}

// TestFileRulesCatchPlantedImports: a forbidden import planted in a file,
// and a rule about a file that is gone, are reported.
func TestFileRulesCatchPlantedImports(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := "package p\n\nimport (\n\t\"net/http\"\n\t\"github.com/coreos/go-oidc/v3/oidc\"\n\t\"strings\"\n)\n"
	if err := os.WriteFile(filepath.Join(dir, "a.go"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	got := fileViolations([]fileRule{
		{dir: dir, files: []string{"a.go"}, notImports: []string{"net/http", "github.com/coreos/go-oidc/"}},
		{dir: dir, files: []string{"gone.go"}, notImports: []string{"net/http"}},
	})
	want := []string{
		filepath.Join(dir, "a.go") + " imports net/http; its part of the package may not import [net/http github.com/coreos/go-oidc/]",
		filepath.Join(dir, "a.go") + " imports github.com/coreos/go-oidc/v3/oidc; its part of the package may not import [net/http github.com/coreos/go-oidc/]",
	}
	if len(got) != 3 || !slices.Equal(got[:2], want) || !strings.Contains(got[2], "gone.go") {
		t.Fatalf("violations:\n%q\nwant\n%q and one for gone.go", got, want)
	}
}
