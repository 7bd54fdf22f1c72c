package ui

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"wharf/internal/accounts"
	"wharf/internal/metadata"
)

// TestAuditPage: the audit log page lists records newest first and
// filters them by user, repository and action.
func TestAuditPage(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	err := e.svc.Store().InsertAudit(t.Context(), []metadata.AuditRecord{
		{Time: now.Add(-2 * time.Minute), Action: "push", Actor: "alice", Repository: "team/app", Target: "v1", Outcome: "ok"},
		{Time: now.Add(-time.Minute), Action: "pull", Actor: "bob", Repository: "other/lib", Target: "latest", Outcome: "ok", Count: 7},
		{Time: now, Action: "user.create", Actor: "root", Source: "ui", Target: "user erin", Outcome: "ok"},
	})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signIn("root", rootPassword)
	all := b.get("/ui/admin/audit").body
	if i, j := strings.Index(all, "user erin"), strings.Index(all, "team/app"); i < 0 || j < 0 || i > j {
		t.Errorf("the audit log is not newest first:\n%s", all)
	}
	for _, tc := range []struct{ query, want, not string }{
		{"user=alice", "team/app", "other/lib"},
		{"repo=other/lib", "<td>7</td>", "team/app"},
		{"action=user.create", "user erin", "other/lib"},
	} {
		p := b.get("/ui/admin/audit?" + tc.query)
		if !strings.Contains(p.body, tc.want) || strings.Contains(p.body, tc.not) {
			t.Errorf("audit filtered by %s: want %q and not %q:\n%s", tc.query, tc.want, tc.not, p.body)
		}
	}
	if p := b.get("/ui/admin/audit?cursor=bogus"); p.status != http.StatusBadRequest {
		t.Errorf("a bogus cursor: %d, want 400", p.status)
	}
}

// TestUsagePictures: the usage page draws the storage per namespace,
// largest first and to scale, and the pushes and pulls per day from the
// audit log (a folded pull record counts its pulls), as SVG without a
// style attribute, which the CSP would refuse.
func TestUsagePictures(t *testing.T) {
	e := newEnv(t)
	e.push("team/app", "v1")
	e.push("team/app", "v2")
	e.push("team/db", "v1")
	e.push("solo", "v1")
	now := time.Now().UTC()
	yesterday := now.Add(-24 * time.Hour)
	err := e.meta.InsertAudit(t.Context(), []metadata.AuditRecord{
		{Time: now, Action: "push", Actor: "alice", Repository: "team/app", Outcome: "ok"},
		{Time: now, Action: "push", Actor: "alice", Repository: "team/app", Outcome: "ok"},
		{Time: yesterday, Action: "pull", Actor: "bob", Repository: "other/lib", Outcome: "ok", Count: 5},
		{Time: now.AddDate(0, 0, -30), Action: "push", Actor: "alice", Repository: "team/app", Outcome: "ok"},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := usagePage(t, e.browser(), "")
	bars := regexp.MustCompile(`<title>([^<]+): [^<]+</title><text class="label"[^>]*>[^<]*</text>\s*<rect class="bar" x="\d+" y="\d+" width="(\d+)"`).FindAllStringSubmatch(p.body, -1)
	if len(bars) != 2 || bars[0][1] != "team/" || bars[0][2] != "420" || bars[1][1] != "solo" {
		t.Fatalf("namespace bars: %v\n%s", bars, p.body)
	}
	if w, _ := strconv.Atoi(bars[1][2]); w <= 0 || w >= 420 {
		t.Errorf("the smaller namespace's bar is %d wide; want between 0 and 420", w)
	}
	mustContain(t, p, "<title>"+now.Format("01-02")+": 2 pushes, 0 pulls</title>", "<title>"+yesterday.Format("01-02")+": 0 pushes, 5 pulls</title>",
		"the tallest bar is 5")
	if strings.Contains(p.body, now.AddDate(0, 0, -30).Format("01-02")+":") {
		t.Error("a push older than the period is drawn")
	}
}

// usagePage signs b in as root and opens the usage page with query,
// which must be drawn without a style attribute (the CSP refuses them).
func usagePage(t *testing.T, b *browser, query string) page {
	t.Helper()
	b.signIn("root", rootPassword)
	p := b.get("/ui/admin/usage" + query)
	if p.status != http.StatusOK {
		t.Fatalf("usage page: %d\n%s", p.status, p.body)
	}
	if strings.Contains(p.body, "style=") {
		t.Error("the usage page has a style attribute, which the CSP refuses")
	}
	return p
}

// TestUsageGCStatus: the usage page shows the garbage collector's status
// where the server has one, and says nothing of it where it has none.
func TestUsageGCStatus(t *testing.T) {
	status := func(context.Context) (any, error) {
		return map[string]any{"running": false, "last": map[string]any{"blobs_deleted": 42}}, nil
	}
	e := newEnv(t, func(c *Config) { c.GCStatus = status })
	b := e.browser()
	b.signIn("root", rootPassword)
	mustContain(t, b.get("/ui/admin/usage"), `<pre id="gc">`, "&#34;blobs_deleted&#34;: 42")
	plain := newEnv(t)
	pb := plain.browser()
	pb.signIn("root", rootPassword)
	if p := pb.get("/ui/admin/usage"); strings.Contains(p.body, `id="gc"`) {
		t.Error("a server without garbage collection shows its status")
	}
}

// TestUsageQuotas: the usage page lists each quota with its usage, limit
// and a meter, marks a full one, and shows no quota section without
// quotas.
func TestUsageQuotas(t *testing.T) {
	quotas := func(context.Context) ([]QuotaUsage, error) {
		return []QuotaUsage{{Pattern: "team/*", Limit: 4 << 20, Usage: 1 << 20, Repositories: 3},
			{Pattern: "<full>/*", Limit: 1 << 20, Usage: 1 << 20, Repositories: 1}}, nil
	}
	e := newEnv(t, func(c *Config) { c.Quotas = quotas })
	b := e.browser()
	b.signIn("root", rootPassword)
	mustContain(t, b.get("/ui/admin/usage"), `<table id="quotas"`, `<code>team/*</code></td><td>3</td><td>1.0 MiB</td><td>4.0 MiB</td>`,
		`<meter min="0" max="4194304" high="4194304" value="1048576"`, `<tr class="over"><td><code>&lt;full&gt;/*</code>`, "full: pushes are refused")
	plain := newEnv(t)
	pb := plain.browser()
	pb.signIn("root", rootPassword)
	if p := pb.get("/ui/admin/usage"); strings.Contains(p.body, `id="quotas"`) {
		t.Error("a server without quotas shows a quota section")
	}
}

// TestUsageMirrors: the usage page shows the pull-through cache's counts
// and each upstream's pulls left, and nothing of it without one.
func TestUsageMirrors(t *testing.T) {
	mirrors := func() Mirrors {
		return Mirrors{Hits: 7, ManifestFetches: 2, BlobFetches: 5, Revalidations: 1, Stale: 3, Upstreams: []MirrorUpstream{
			{Prefix: "hub", Host: "registry-1.docker.io", Limit: 100, Remaining: 98}, {Host: "ghcr.io", Limit: -1, Remaining: -1}}}
	}
	e := newEnv(t, func(c *Config) { c.Mirrors = mirrors })
	b := e.browser()
	b.signIn("root", rootPassword)
	mustContain(t, b.get("/ui/admin/usage"), `<table id="mirrors"`, "7 pulls answered from the cache", "3 served stale",
		"<code>hub/</code></td><td>registry-1.docker.io</td><td>98 of 100</td>", "<code>(mirror)</code></td><td>ghcr.io</td><td>not announced yet</td>")
	plain := newEnv(t)
	pb := plain.browser()
	pb.signIn("root", rootPassword)
	if p := pb.get("/ui/admin/usage"); strings.Contains(p.body, `id="mirrors"`) {
		t.Error("a server without a pull-through cache shows one")
	}
}

// TestWholePages: a list read whole (the teams) is cut into pages that
// follow each other without a gap or a repeat, whatever the key the
// previous page ended at.
func TestWholePages(t *testing.T) {
	var names []string
	for i := range 120 {
		names = append(names, fmt.Sprintf("u%03d", 119-i))
	}
	read := wholePages(func(context.Context) ([]string, error) { return slices.Clone(names), nil }, func(s string) string { return s })
	for _, tc := range []struct {
		name, after, first, last string
		n                        int
	}{
		{"first page", "", "u000", "u050", adminPage + 1},
		{"second page", "u049", "u050", "u100", adminPage + 1},
		{"last page", "u099", "u100", "u119", 20},
		{"after a key that is gone", "u0495", "u050", "u100", adminPage + 1},
		{"after the last", "u119", "", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := read(t.Context(), tc.after, adminPage+1)
			if err != nil {
				t.Fatal(err)
			}
			first, last := "", ""
			if len(page) > 0 {
				first, last = page[0], page[len(page)-1]
			}
			if len(page) != tc.n || first != tc.first || last != tc.last {
				t.Errorf("after %q: %d items from %q to %q; want %d from %q to %q", tc.after, len(page), first, last, tc.n, tc.first, tc.last)
			}
		})
	}
}

// TestAdminListsPaged: the users, access tokens and sessions pages show
// 50 rows each and a "Next page" link while more follow; following the
// links shows every active row once, in key order, and never a revoked or
// expired token.
func TestAdminListsPaged(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	const extra = 70
	wantUsers := []string{"alice", "bob", "dora", "root"}
	var wantTokens []string
	for i := range extra {
		name := fmt.Sprintf("user%03d", i)
		if err := e.svc.AddUser(ctx, accounts.NewUser{Name: name, Robot: true}); err != nil {
			t.Fatal(err)
		}
		wantUsers = append(wantUsers, name)
		for j := range 2 {
			_, tok, err := e.svc.CreateToken(ctx, accounts.NewToken{User: name, Scopes: []string{"repository:team/app:pull"}})
			if err != nil {
				t.Fatal(err)
			}
			if j == 1 {
				if _, err := e.svc.RevokeToken(ctx, tok.ID); err != nil {
					t.Fatal(err)
				}
				continue
			}
			wantTokens = append(wantTokens, tok.ID)
		}
		if err := e.meta.CreateRefreshToken(ctx, "session of "+name, metadata.RefreshToken{Account: name, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(wantUsers)
	slices.Sort(wantTokens)
	b := e.browser()
	b.signIn("root", rootPassword)
	walk := func(page, row string) []string {
		t.Helper()
		var got []string
		next := "/ui/admin/" + page
		for pages := 0; next != ""; pages++ {
			if pages > 10 {
				t.Fatalf("%s: the pages never end", page)
			}
			p := b.get(next)
			if p.status != http.StatusOK {
				t.Fatalf("%s: %d\n%s", next, p.status, p.body)
			}
			rows := regexp.MustCompile(`<tr id="`+row+`-([^"]+)">`).FindAllStringSubmatch(p.body, -1)
			if len(rows) > adminPage {
				t.Errorf("%s shows %d rows, more than a page", next, len(rows))
			}
			for _, r := range rows {
				got = append(got, html.UnescapeString(r[1]))
			}
			next = ""
			if m := regexp.MustCompile(`<a class="more" href="([^"]+)">Next page</a>`).FindStringSubmatch(p.body); m != nil {
				next = html.UnescapeString(m[1])
				if len(rows) != adminPage {
					t.Errorf("%s offers a next page after %d rows", p.body, len(rows))
				}
			}
		}
		return got
	}
	if got := walk("users", "user"); !slices.Equal(got, wantUsers) {
		t.Errorf("users page by page:\n%v\nwant\n%v", got, wantUsers)
	}
	if got := walk("tokens", "token"); !slices.Equal(got, wantTokens) {
		t.Errorf("tokens page by page:\n%v\nwant\n%v", got, wantTokens)
	}
	sessions := walk("sessions", "session")
	if len(sessions) < extra || !slices.IsSorted(sessions) || len(slices.Compact(slices.Clone(sessions))) != len(sessions) {
		t.Errorf("sessions page by page: %d, sorted %v: %v", len(sessions), slices.IsSorted(sessions), sessions)
	}
	for i := range extra {
		if id := metadata.RefreshTokenID(fmt.Sprintf("session of user%03d", i)); !slices.Contains(sessions, id) {
			t.Errorf("session %s is on no page", id)
		}
	}
}

// TestRetentionDryRun: the usage page offers the retention dry run where
// the server has policies, behind the session's CSRF token and for
// administrators only, and shows its report.
func TestRetentionDryRun(t *testing.T) {
	runs := 0
	dry := func(context.Context) (any, error) {
		runs++
		return map[string]any{"dry_run": true, "untagged": 3}, nil
	}
	e := newEnv(t, func(c *Config) { c.RetentionDryRun = dry })
	a := e.browser()
	acsrf := a.signIn("alice", alicePassword)
	a.form("/ui/admin/retention", acsrf, http.StatusForbidden)
	b := e.browser()
	csrf := b.signIn("root", rootPassword)
	mustContain(t, b.get("/ui/admin/usage"), `action="/ui/admin/retention"`)
	b.form("/ui/admin/retention", "", http.StatusForbidden)
	if runs != 0 {
		t.Fatalf("the dry run ran %d times for refused requests", runs)
	}
	mustContain(t, b.form("/ui/admin/retention", csrf, http.StatusOK), `<pre id="report">`, "&#34;untagged&#34;: 3")
	if runs != 1 {
		t.Errorf("the dry run ran %d times; want 1", runs)
	}
	plain := newEnv(t)
	pb := plain.browser()
	pcsrf := pb.signIn("root", rootPassword)
	if strings.Contains(pb.get("/ui/admin/usage").body, "/ui/admin/retention") {
		t.Error("a server without retention offers a dry run")
	}
	pb.form("/ui/admin/retention", pcsrf, http.StatusNotFound)
}
