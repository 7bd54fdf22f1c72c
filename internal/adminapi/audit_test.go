package adminapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/accounts"
	"wharf/internal/adminapi"
	"wharf/internal/audit"
	"wharf/internal/auth"
	"wharf/internal/metadata"
)

type auditPage struct {
	Records []audit.View `json:"records"`
	Next    string       `json:"next"`
	Cursor  string       `json:"cursor"`
}

func TestAuditList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := time.Now()
	var recs []metadata.AuditRecord
	for i := range 7 {
		recs = append(recs, metadata.AuditRecord{Time: now.Add(time.Duration(i-10) * time.Hour), Action: []string{"push", "pull"}[i%2],
			Actor: []string{"alice", "bob"}[i%2], Repository: "team/app", Target: fmt.Sprint("t", i), Outcome: "ok", Detail: `{"size":1}`})
	}
	if err := e.store.InsertAudit(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	admin := e.bearer("admin", adminScope)
	targets := func(p auditPage) []string {
		out := []string{}
		for _, r := range p.Records {
			out = append(out, r.Target)
		}
		return out
	}

	// Pages of 3, newest first, followed through next.
	var all []string
	path := "/api/v1/audit?limit=3"
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("the listing does not end")
		}
		var p auditPage
		res := e.must(200, admin, "GET", path, nil, &p)
		if p.Next != "" && res.header.Get("Link") == "" {
			t.Errorf("a page with next has no Link header")
		}
		all = append(all, targets(p)...)
		path = p.Next
	}
	if diff := cmp.Diff([]string{"t6", "t5", "t4", "t3", "t2", "t1", "t0"}, all); diff != "" {
		t.Errorf("paged listing differs (-want +got):\n%s", diff)
	}

	var p auditPage
	e.must(200, admin, "GET", "/api/v1/audit?user=bob&since=9h30m&repo=team/app", nil, &p)
	if diff := cmp.Diff([]string{"t5", "t3", "t1"}, targets(p)); diff != "" {
		t.Errorf("bob's records of the last 9h30m differ (-want +got):\n%s", diff)
	}
	var detail struct{ Size int }
	if err := json.Unmarshal(p.Records[0].Detail, &detail); err != nil || detail.Size != 1 {
		t.Errorf("detail = %s (%v); want the stored object", p.Records[0].Detail, err)
	}

	for _, tc := range []struct{ query, field string }{
		{"since=yesterday", "since"},
		{"since=1h&until=2h", "until"},
		{"limit=0", "limit"},
		{"limit=5000", "limit"},
		{"cursor=nope", "cursor"},
	} {
		res := e.do(admin, "GET", "/api/v1/audit?"+tc.query, nil)
		if res.status != 400 {
			t.Errorf("%s: %d; want 400: %s", tc.query, res.status, res)
			continue
		}
		if _, _, field := res.errorOf(t); field != tc.field {
			t.Errorf("%s: error names field %q; want %q", tc.query, field, tc.field)
		}
	}
	// Only administrators read it.
	if res := e.do(e.bearer("alice", auth.Access{Type: "repository", Name: "team/app", Actions: []string{"pull"}}), "GET", "/api/v1/audit", nil); res.status != 403 {
		t.Errorf("a non-admin's bearer: %d; want 403", res.status)
	}
	if res := e.do("", "GET", "/api/v1/audit", nil); res.status != 401 {
		t.Errorf("no credentials: %d; want 401", res.status)
	}
}

// TestChangesNameTheCaller: a change made through the API reaches the
// service's hook with the caller as its actor.
func TestChangesNameTheCaller(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		got []string
	)
	e := newEnvWith(t, false, hooks{accounts: func(o *accounts.Options) {
		o.Changed = func(ctx context.Context, c accounts.Change) {
			a, _ := accounts.ActorFrom(ctx)
			mu.Lock()
			defer mu.Unlock()
			got = append(got, fmt.Sprintf("%s %s by %s via %s from %s err=%v", c.Action, c.Target, a.Name, a.Source, a.Addr, c.Err != nil))
		}
	}})
	admin := e.bearer("admin", adminScope)
	e.must(201, admin, "POST", "/api/v1/users", map[string]any{"name": "carol", "password": "Carol's long passw0rd"}, nil)
	e.do(admin, "POST", "/api/v1/teams", map[string]any{"name": url.PathEscape("bad name")})
	mu.Lock()
	defer mu.Unlock()
	want := []string{"user.create user carol by admin via adminapi from 127.0.0.1 err=false", "team.create team bad%20name by admin via adminapi from 127.0.0.1 err=true"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes differ (-want +got):\n%s", diff)
	}
}

// TestRefusedCallers: a failed login and a caller without the admin scope
// reach the Refused hook, without the password.
func TestRefusedCallers(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		got []string
	)
	e := newEnvWith(t, false, hooks{api: func(c *adminapi.Config) {
		c.Refused = func(_ context.Context, account string, ip netip.Addr, failed bool, reason string) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, fmt.Sprintf("%s from %v failed=%v: %s", account, ip, failed, reason))
		}
	}})
	if res := e.do(basic("admin", "not the admin's password"), "GET", "/api/v1/users", nil); res.status != 401 {
		t.Fatalf("a wrong password: %d", res.status)
	}
	if res := e.do(e.bearer("alice"), "GET", "/api/v1/users", nil); res.status != 403 {
		t.Fatalf("a bearer without the admin scope: %d", res.status)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"admin from 127.0.0.1 failed=true: wrong credentials", "alice from 127.0.0.1 failed=false: the token does not grant admin:api:*"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("refusals differ (-want +got):\n%s", diff)
	}
}
