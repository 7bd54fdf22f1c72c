package adminapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

type tokenJSON struct {
	ID        string     `json:"id"`
	Token     string     `json:"token"`
	User      string     `json:"user"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	State     string     `json:"state"`
}

func TestTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.bearer("admin", adminScope)
	e.must(http.StatusCreated, admin, "POST", "/api/v1/users", map[string]any{"name": "ci", "robot": true}, nil)
	e.must(http.StatusCreated, admin, "POST", "/api/v1/acl/rules", map[string]any{"match": map[string]any{"account": "ci"}, "actions": []string{"*"}}, nil)

	var pull, adm tokenJSON
	e.must(http.StatusCreated, admin, "POST", "/api/v1/tokens",
		map[string]any{"user": "ci", "scopes": []string{"repository:team/*:pull"}, "description": "pulls"}, &pull)
	if !strings.HasPrefix(pull.Token, "wharf_") || pull.ExpiresAt == nil || pull.State != "active" || pull.User != "ci" {
		t.Errorf("created %+v", pull)
	}
	if d := time.Until(*pull.ExpiresAt); d < 89*24*time.Hour || d > 91*24*time.Hour {
		t.Errorf("default expiry in %v; want 90 days", d)
	}
	e.must(http.StatusCreated, admin, "POST", "/api/v1/tokens",
		map[string]any{"user": "ci", "scopes": []string{"admin:api:*"}, "expires_at": "never"}, &adm)
	if adm.ExpiresAt != nil {
		t.Errorf("never expires: %+v", adm)
	}
	for _, tc := range []struct {
		body  any
		field string
	}{
		{map[string]any{"scopes": []string{"repository:a:pull"}}, "user"},
		{map[string]any{"user": "ci"}, "scopes"},
		{map[string]any{"user": "ci", "scopes": []string{"pull"}}, "scopes"},
		{map[string]any{"user": "ci", "scopes": []string{"repository:a:pull"}, "expires_at": "tomorrow"}, "expires_at"},
		{map[string]any{"user": "ci", "scopes": []string{"repository:a:pull"}, "expires_at": 5}, "expires_at"},
	} {
		res := e.do(admin, "POST", "/api/v1/tokens", tc.body)
		if res.status != 400 {
			t.Errorf("%v: %d %s", tc.body, res.status, res)
			continue
		}
		if _, _, field := res.errorOf(t); field != tc.field {
			t.Errorf("%v: field %q, want %q", tc.body, field, tc.field)
		}
	}
	if res := e.do(admin, "POST", "/api/v1/tokens", map[string]any{"user": "ci", "scopes": []string{"repository:a:pull"}, "expires_at": "2001-01-01T00:00:00Z"}); res.status != 400 {
		t.Errorf("expiry in the past: %d", res.status)
	}
	if res := e.do(admin, "POST", "/api/v1/tokens", map[string]any{"user": "nobody", "scopes": []string{"repository:a:pull"}}); res.status != 404 {
		t.Errorf("token of a missing user: %d", res.status)
	}

	// The token is shown once: never in lists or reads.
	var list struct {
		Tokens []tokenJSON `json:"tokens"`
	}
	res := e.must(http.StatusOK, admin, "GET", "/api/v1/tokens?user=ci", nil, &list)
	if len(list.Tokens) != 2 || strings.Contains(res.String(), pull.Token) || strings.Contains(res.String(), `"token"`) {
		t.Errorf("list: %s", res)
	}
	if res := e.must(http.StatusOK, admin, "GET", "/api/v1/tokens/"+pull.ID, nil, nil); strings.Contains(res.String(), pull.Token) {
		t.Errorf("read shows the token: %s", res)
	}
	if res := e.do(admin, "GET", "/api/v1/tokens?user=nobody", nil); res.status != 404 {
		t.Errorf("tokens of a missing user: %d", res.status)
	}

	// The pull token cannot use the API; the admin:api:* one can.
	if res := e.do(basic("ci", pull.Token), "GET", "/api/v1/users", nil); res.status != http.StatusForbidden {
		t.Errorf("a token without the admin scope: %d", res.status)
	}
	e.must(http.StatusOK, basic("ci", adm.Token), "GET", "/api/v1/users", nil, nil)

	var revoked tokenJSON
	e.must(http.StatusOK, admin, "DELETE", "/api/v1/tokens/"+adm.ID, nil, &revoked)
	if revoked.State != "revoked" || revoked.RevokedAt == nil {
		t.Errorf("revoked: %+v", revoked)
	}
	if res := e.do(basic("ci", adm.Token), "GET", "/api/v1/users", nil); res.status != http.StatusUnauthorized {
		t.Errorf("a revoked token: %d", res.status)
	}
	if e.must(http.StatusOK, admin, "GET", "/api/v1/tokens", nil, &list); len(list.Tokens) != 1 || list.Tokens[0].ID != pull.ID {
		t.Errorf("active tokens: %+v", list.Tokens)
	}
	if e.must(http.StatusOK, admin, "GET", "/api/v1/tokens?all=true", nil, &list); len(list.Tokens) != 2 {
		t.Errorf("all tokens: %+v", list.Tokens)
	}
	if res := e.do(admin, "DELETE", "/api/v1/tokens/nope", nil); res.status != 404 {
		t.Errorf("revoking a missing token: %d", res.status)
	}
	for _, tok := range []string{pull.Token, adm.Token} {
		if strings.Contains(e.log.String(), tok) {
			t.Error("the log holds a token")
		}
	}
}
