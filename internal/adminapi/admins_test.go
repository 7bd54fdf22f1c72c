package adminapi_test

import (
	"net/http"
	"strings"
	"testing"

	"wharf/internal/accounts"
)

// The built-in admin is a database account the API lists and changes like
// any other; the last account that may administer is neither disabled nor
// removed, with a 409 that says how to add another.
func TestBuiltinAdmin(t *testing.T) {
	t.Parallel()
	e := newBuiltinEnv(t)
	admin := basic("admin", adminPassword)

	var list struct{ Users []accounts.UserView }
	e.must(http.StatusOK, admin, "GET", "/api/v1/users", nil, &list)
	if len(list.Users) != 1 || list.Users[0].Name != "admin" || !list.Users[0].Builtin || list.Users[0].Robot {
		t.Fatalf("users: %+v; want the built-in admin", list.Users)
	}
	refused := func(method, path string, body any, says string) {
		t.Helper()
		res := e.do(admin, method, path, body)
		if res.status != http.StatusConflict {
			t.Fatalf("%s %s: %d, want 409: %s", method, path, res.status, res.body)
		}
		if code, msg, _ := res.errorOf(t); code != "conflict" || !strings.Contains(msg, says) || strings.Contains(msg, "accounts:") {
			t.Errorf("%s %s: %s %q; want conflict saying %q", method, path, code, msg, says)
		}
	}
	refused("PATCH", "/api/v1/users/admin", map[string]any{"disabled": true}, "wharf acl add --account ops --type admin")
	refused("DELETE", "/api/v1/users/admin", nil, "built-in administrator")
	refused("POST", "/api/v1/users", map[string]any{"name": "admin", "password": "another long password"}, "built-in administrator")
	e.must(http.StatusOK, admin, "GET", "/api/v1/users/admin", nil, nil)

	// Once ops may administer, admin may be disabled; then ops is the last.
	e.must(http.StatusCreated, admin, "POST", "/api/v1/users", map[string]any{"name": "ops", "password": "ops's long password"}, nil)
	e.must(http.StatusCreated, admin, "POST", "/api/v1/acl/rules", map[string]any{"match": map[string]any{"account": "ops", "type": "admin"}, "actions": []string{"*"}}, nil)
	e.must(http.StatusOK, admin, "PATCH", "/api/v1/users/admin", map[string]any{"disabled": true}, nil)
	ops := basic("ops", "ops's long password")
	if res := e.do(ops, "DELETE", "/api/v1/users/ops", nil); res.status != http.StatusConflict {
		t.Errorf("removing the last administrator: %d %s", res.status, res.body)
	}
	e.must(http.StatusOK, ops, "PATCH", "/api/v1/users/admin", map[string]any{"disabled": false}, nil)
	e.must(http.StatusNoContent, admin, "DELETE", "/api/v1/users/ops", nil, nil)
}

// A new token's answer carries warnings about the scopes the ACL does not
// grant its user: always present, empty when all is granted.
func TestTokenWarnings(t *testing.T) {
	t.Parallel()
	e := newBuiltinEnv(t)
	admin := basic("admin", adminPassword)
	e.must(http.StatusCreated, admin, "POST", "/api/v1/users", map[string]any{"name": "ci", "robot": true}, nil)

	var created accounts.CreatedTokenView
	e.must(http.StatusCreated, admin, "POST", "/api/v1/tokens", map[string]any{"user": "ci", "scopes": []string{"repository:dev/*:pull"}}, &created)
	if created.Token == "" || len(created.Warnings) != 1 ||
		!strings.Contains(created.Warnings[0], "wharf acl add --account ci --type repository --name 'dev/*' --actions pull") {
		t.Errorf("a token the ACL grants nothing: %+v", created)
	}
	res := e.must(http.StatusCreated, admin, "POST", "/api/v1/tokens", map[string]any{"user": "admin", "scopes": []string{"repository:dev/*:pull"}}, &created)
	if !strings.Contains(string(res.body), `"warnings": []`) {
		t.Errorf("a granted token: %s; want an empty warnings list", res.body)
	}
}
