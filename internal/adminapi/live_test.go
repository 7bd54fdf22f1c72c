package adminapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"wharf/internal/adminapi"
	"wharf/internal/auth"
	"wharf/internal/auth/token"
	"wharf/internal/metadata"
)

// bearerFor issues a token as the token server does, with Wharf's claims
// about its subject.
func (e *env) bearerFor(subject token.Subject, access ...auth.Access) string {
	e.t.Helper()
	tok, err := e.issuer.IssueFor(e.t.Context(), subject, service, access)
	if err != nil {
		e.t.Fatal(err)
	}
	return "Bearer " + tok.Raw
}

// A bearer token holds only while what it was issued for does: the
// account, its access token, the rule that granted the admin scope.
func TestBearerTokensEndWithTheirAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.bearer("admin", adminScope)
	refused := func(step, authz string) {
		t.Helper()
		res := e.do(authz, "GET", "/api/v1/users", nil)
		if code, msg, _ := res.errorOf(t); res.status != http.StatusUnauthorized || code != "unauthorized" || !strings.Contains(msg, "no longer holds") ||
			!strings.Contains(res.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("%s: %d %s; want 401 invalid_token", step, res.status, res)
		}
	}
	// ops gets the admin scope from a database rule.
	e.must(http.StatusCreated, admin, "POST", "/api/v1/users", map[string]any{"name": "ops", "password": "ops's long password"}, nil)
	var r rule
	e.must(http.StatusCreated, admin, "POST", "/api/v1/acl/rules", map[string]any{"match": map[string]any{"account": "ops", "type": "admin"}, "actions": []string{"*"}}, &r)
	ops := e.bearerFor(token.Subject{Account: "ops", Source: "database"}, adminScope)
	e.must(http.StatusOK, ops, "GET", "/api/v1/users", nil, nil)

	// ci logs in with an access token holding the admin scope.
	e.must(http.StatusCreated, admin, "POST", "/api/v1/users", map[string]any{"name": "ci", "robot": true}, nil)
	e.must(http.StatusCreated, admin, "POST", "/api/v1/acl/rules", map[string]any{"match": map[string]any{"account": "ci"}, "actions": []string{"*"}}, nil)
	var tok tokenJSON
	e.must(http.StatusCreated, admin, "POST", "/api/v1/tokens", map[string]any{"user": "ci", "scopes": []string{"admin:api:*"}}, &tok)
	ci := e.bearerFor(token.Subject{Account: "ci", Source: "database", TokenID: tok.ID}, adminScope)
	e.must(http.StatusOK, ci, "GET", "/api/v1/users", nil, nil)

	e.must(http.StatusOK, admin, "DELETE", "/api/v1/tokens/"+tok.ID, nil, nil)
	refused("access token revoked", ci)

	e.must(http.StatusNoContent, admin, "DELETE", "/api/v1/acl/rules/"+itoa(r.ID), nil, nil)
	refused("rule removed", ops)

	e.must(http.StatusCreated, admin, "POST", "/api/v1/acl/rules", map[string]any{"match": map[string]any{"account": "ops", "type": "admin"}, "actions": []string{"*"}}, nil)
	e.must(http.StatusOK, ops, "GET", "/api/v1/users", nil, nil)
	e.must(http.StatusNoContent, admin, "DELETE", "/api/v1/users/ops", nil, nil)
	refused("account removed", ops)

	// A configured account that is no longer configured.
	refused("not configured", e.bearerFor(token.Subject{Account: "gone", Source: "static"}, adminScope))
	// Accounts of other backends are not read without their password: their
	// tokens live out their few minutes.
	e.must(http.StatusOK, e.bearerFor(token.Subject{Account: "ldap-admin", Source: "ldap"}, adminScope), "GET", "/api/v1/users", nil, nil)
}

func TestSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.bearer("admin", adminScope)
	ctx := t.Context()
	for tok, user := range map[string]string{"a1": "alice", "a2": "alice", "b1": "bob"} {
		if err := e.store.CreateRefreshToken(ctx, tok, metadata.RefreshToken{Account: user, Source: "ldap", ClientID: "docker", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	type list struct {
		Sessions []adminapi.Session `json:"sessions"`
		Next     string             `json:"next"`
	}
	var all, page list
	e.must(http.StatusOK, admin, "GET", "/api/v1/sessions", nil, &all)
	if len(all.Sessions) != 3 || all.Sessions[0].Source != "ldap" || all.Sessions[0].Client != "docker" {
		t.Fatalf("sessions: %+v", all)
	}
	res := e.must(http.StatusOK, admin, "GET", "/api/v1/sessions?n=2", nil, &page)
	if len(page.Sessions) != 2 || page.Next == "" || !strings.Contains(res.header.Get("Link"), `rel="next"`) {
		t.Errorf("first page: %+v, Link %q", page, res.header.Get("Link"))
	}
	e.must(http.StatusOK, admin, "GET", "/api/v1/sessions?user=bob", nil, &page)
	if len(page.Sessions) != 1 || page.Sessions[0].ID != metadata.RefreshTokenID("b1") {
		t.Errorf("bob's sessions: %+v", page)
	}

	var one adminapi.Session
	e.must(http.StatusOK, admin, "DELETE", "/api/v1/sessions/"+metadata.RefreshTokenID("a1"), nil, &one)
	if one.User != "alice" {
		t.Errorf("revoked %+v", one)
	}
	for path, want := range map[string]int{
		"/api/v1/sessions/" + metadata.RefreshTokenID("a1"): http.StatusNotFound,
		"/api/v1/sessions/not-an-id":                        http.StatusBadRequest,
		"/api/v1/sessions":                                  http.StatusBadRequest,
		"/api/v1/sessions?user=alice&all=true":              http.StatusBadRequest,
		"/api/v1/sessions?all=maybe":                        http.StatusBadRequest,
	} {
		if res := e.do(admin, "DELETE", path, nil); res.status != want {
			t.Errorf("DELETE %s: %d %s; want %d", path, res.status, res, want)
		}
	}
	var n struct{ Revoked int64 }
	e.must(http.StatusOK, admin, "DELETE", "/api/v1/sessions?user=alice", nil, &n)
	if n.Revoked != 1 {
		t.Errorf("alice: revoked %d, want 1", n.Revoked)
	}
	e.must(http.StatusOK, admin, "DELETE", "/api/v1/sessions?all=true", nil, &n)
	if n.Revoked != 1 {
		t.Errorf("all: revoked %d, want 1", n.Revoked)
	}
	if !strings.Contains(e.log.String(), "sessions revoked") {
		t.Error("revocations are not in the audit log")
	}
}

// A rule's source is written and read back as source, and decides.
func TestRuleSource(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.bearer("admin", adminScope)
	var r rule
	e.must(http.StatusCreated, admin, "POST", "/api/v1/acl/rules",
		map[string]any{"match": map[string]any{"account": "alice", "source": "ldap"}, "actions": []string{"pull"}}, &r)
	if r.Match["source"] != "ldap" || r.Match["labels"] != nil {
		t.Errorf("stored match %+v; want source ldap and no labels", r.Match)
	}
	res := e.do(admin, "POST", "/api/v1/acl/rules",
		map[string]any{"match": map[string]any{"source": "ldap", "labels": map[string]string{"wharf.source": "ldap"}}, "actions": []string{"pull"}})
	if _, _, field := res.errorOf(t); res.status != http.StatusBadRequest || field != "source" {
		t.Errorf("source twice: %d %s", res.status, res)
	}
	for source, want := range map[string]int{"ldap": 1, "github": 0} {
		var check struct {
			Granted []string `json:"granted"`
		}
		e.must(http.StatusOK, admin, "GET", "/api/v1/acl/check?account=alice&scope=repository:app:pull&source="+source, nil, &check)
		if len(check.Granted) != want {
			t.Errorf("alice from %s: granted %v", source, check.Granted)
		}
	}
}
