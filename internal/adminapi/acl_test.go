package adminapi_test

import (
	"net/http"
	"slices"
	"strconv"
	"testing"
)

type rule struct {
	ID       int64             `json:"id"`
	Position int               `json:"position"`
	Match    map[string]any    `json:"match"`
	Actions  []string          `json:"actions"`
	Comment  string            `json:"comment"`
	Labels   map[string]string `json:"-"`
}

func TestACL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.bearer("admin", adminScope)
	const bobPW = "bob's long password"
	e.must(http.StatusCreated, admin, "POST", "/api/v1/users", map[string]any{"name": "bob", "password": bobPW}, nil)
	e.must(http.StatusCreated, admin, "POST", "/api/v1/teams", map[string]any{"name": "ops"}, nil)
	e.must(http.StatusNoContent, admin, "PUT", "/api/v1/teams/ops/members/bob", nil, nil)

	var r1, r2 rule
	res := e.must(http.StatusCreated, admin, "POST", "/api/v1/acl/rules",
		map[string]any{"match": map[string]any{"labels": map[string]string{"groups": "ops"}, "name": "ops/*"}, "actions": []string{"pull", "push"}, "comment": "ops"}, &r1)
	if r1.ID == 0 || r1.Position != 1 || res.header.Get("ETag") == "" {
		t.Errorf("created %+v, ETag %q", r1, res.header.Get("ETag"))
	}
	e.must(http.StatusCreated, admin, "POST", "/api/v1/acl/rules",
		map[string]any{"match": map[string]any{"account": "", "name": "public/*"}, "actions": []string{"pull"}}, &r2)
	if acct, ok := r2.Match["account"]; !ok || acct != "" {
		t.Errorf("the anonymous account's match was lost: %+v", r2.Match)
	}

	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{"no actions", map[string]any{"match": map[string]any{"name": "x"}}, "actions"},
		{"bad placeholder", map[string]any{"match": map[string]any{"name": "${acount}"}, "actions": []string{"pull"}}, "match"},
		{"bad regex", map[string]any{"match": map[string]any{"name": "/[/"}, "actions": []string{"pull"}}, "match"},
		{"unknown match key", map[string]any{"match": map[string]any{"repo": "x"}, "actions": []string{"pull"}}, "repo"},
		{"negative position", map[string]any{"actions": []string{}, "position": -1}, "position"},
		{"unknown action", map[string]any{"match": map[string]any{"name": "x"}, "actions": []string{"pul"}}, "actions"},
	} {
		res := e.do(admin, "POST", "/api/v1/acl/rules", tc.body)
		if res.status != 400 {
			t.Errorf("%s: %d %s", tc.name, res.status, res)
			continue
		}
		if _, _, field := res.errorOf(t); field != tc.field {
			t.Errorf("%s: field %q, want %q", tc.name, field, tc.field)
		}
	}

	// bob is in ops: the rule gives him ops/*, not the admin API.
	check := func(account, scope string) (granted []string, ruleID int64) {
		t.Helper()
		var ex struct {
			Granted []string `json:"granted"`
			Rule    *struct {
				ID int64 `json:"id"`
			} `json:"rule"`
		}
		e.must(http.StatusOK, admin, "GET", "/api/v1/acl/check?account="+account+"&scope="+scope, nil, &ex)
		if ex.Rule != nil {
			ruleID = ex.Rule.ID
		}
		return ex.Granted, ruleID
	}
	if g, id := check("bob", "repository:ops/app:pull,push,delete"); !slices.Equal(g, []string{"pull", "push"}) || id != r1.ID {
		t.Errorf("bob on ops/app: %v by rule %d", g, id)
	}
	if g, _ := check("", "repository:public/x:pull"); !slices.Equal(g, []string{"pull"}) {
		t.Errorf("anonymous on public/x: %v", g)
	}
	if res := e.do(basic("bob", bobPW), "GET", "/api/v1/users", nil); res.status != http.StatusForbidden {
		t.Errorf("bob before the admin rule: %d", res.status)
	}
	if _, _, field := e.do(admin, "GET", "/api/v1/acl/check?scope=repository:a:pull", nil).errorOf(t); field != "account" {
		t.Errorf("check without account: field %q", field)
	}

	// Give ops the admin API, first: bob gets in.
	var r3 rule
	e.must(http.StatusCreated, admin, "POST", "/api/v1/acl/rules",
		map[string]any{"match": map[string]any{"labels": map[string]string{"groups": "ops"}, "type": "admin"}, "actions": []string{"*"}, "position": 1}, &r3)
	if r3.Position != 1 {
		t.Errorf("inserted at %d", r3.Position)
	}
	e.must(http.StatusOK, basic("bob", bobPW), "GET", "/api/v1/users", nil, nil)

	// Order changes with If-Match.
	var list struct {
		Rules    []rule `json:"rules"`
		Warnings []any  `json:"warnings"`
	}
	res = e.must(http.StatusOK, admin, "GET", "/api/v1/acl/rules", nil, &list)
	etag := res.header.Get("ETag")
	if len(list.Rules) != 3 || list.Rules[0].ID != r3.ID || list.Rules[1].ID != r1.ID || list.Warnings == nil {
		t.Fatalf("rules %+v", list)
	}
	if res := e.do(admin, "PATCH", "/api/v1/acl/rules/"+itoa(r3.ID), map[string]any{"position": 3}, "If-Match", `"stale"`); res.status != http.StatusPreconditionFailed {
		t.Errorf("stale If-Match: %d %s", res.status, res)
	}
	var moved rule
	res = e.must(http.StatusOK, admin, "PATCH", "/api/v1/acl/rules/"+itoa(r3.ID), map[string]any{"position": 3}, &moved, "If-Match", etag)
	if moved.Position != 3 || res.header.Get("ETag") == etag || res.header.Get("ETag") == "" {
		t.Errorf("moved to %d; ETag %q (was %q)", moved.Position, res.header.Get("ETag"), etag)
	}
	if res := e.do(admin, "PATCH", "/api/v1/acl/rules/"+itoa(r3.ID), map[string]any{"position": 0}); res.status != 400 {
		t.Errorf("position 0: %d", res.status)
	}
	if res := e.do(admin, "PATCH", "/api/v1/acl/rules/999", map[string]any{"position": 1}); res.status != 404 {
		t.Errorf("moving a missing rule: %d", res.status)
	}
	if res := e.do(admin, "DELETE", "/api/v1/acl/rules/"+itoa(r1.ID), nil, "If-Match", etag); res.status != http.StatusPreconditionFailed {
		t.Errorf("delete with the old ETag: %d", res.status)
	}
	e.must(http.StatusNoContent, admin, "DELETE", "/api/v1/acl/rules/"+itoa(r3.ID), nil, nil)
	if res := e.do(basic("bob", bobPW), "GET", "/api/v1/users", nil); res.status != http.StatusForbidden {
		t.Errorf("bob after the admin rule was deleted: %d", res.status)
	}
	var page struct {
		Rules []rule `json:"rules"`
		Next  string `json:"next"`
	}
	e.must(http.StatusOK, admin, "GET", "/api/v1/acl/rules?n=1", nil, &page)
	if len(page.Rules) != 1 || page.Next == "" {
		t.Fatalf("first page %+v", page)
	}
	next := page.Next
	page.Rules, page.Next = nil, ""
	e.must(http.StatusOK, admin, "GET", next, nil, &page)
	if len(page.Rules) != 1 || page.Rules[0].ID != r2.ID || page.Next != "" {
		t.Errorf("second page %+v", page)
	}
	if res := e.do(admin, "GET", "/api/v1/acl/rules/x", nil); res.status != 400 {
		t.Errorf("rule id x: %d", res.status)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
