package tokenserver_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/auth/tokenserver"
)

// auditRecorder keeps what the token server hands its Audit.
type auditRecorder struct {
	mu      sync.Mutex
	logins  []tokenserver.Login
	denials []tokenserver.Denial
}

func (a *auditRecorder) Login(_ context.Context, l tokenserver.Login) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.logins = append(a.logins, l)
}

func (a *auditRecorder) Denied(_ context.Context, d tokenserver.Denial) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.denials = append(a.denials, d)
}

func TestAuditLoginsAndDenials(t *testing.T) {
	t.Parallel()
	rec := &auditRecorder{}
	f := newFixtureWith(t, func(c *tokenserver.Config) { c.Audit = rec })
	scope := func(s string) url.Values { return url.Values{"service": {"registry"}, "scope": {s}} }

	// test may pull, not push: a login, and a denial naming both sides.
	if a := f.get(t, "test", "test-pw", scope("repository:app:pull,push")); a.status != 200 {
		t.Fatalf("token for test: %d", a.status)
	}
	// A wrong password: a failed login, no token.
	if a := f.get(t, "test", "wrong-secret", scope("repository:app:pull")); a.status != 401 {
		t.Fatalf("wrong password: %d; want 401", a.status)
	}
	// admin gets what it asks through the OAuth2 form: a login, no denial.
	form := url.Values{"grant_type": {"password"}, "username": {"admin"}, "password": {"admin-pw"},
		"service": {"registry"}, "scope": {"repository:app:pull,push"}}
	if a := f.post(t, form); a.status != 200 {
		t.Fatalf("token for admin: %d", a.status)
	}
	// Anonymous requests are no logins.
	if a := f.get(t, "", "", scope("repository:public:pull")); a.status != 200 {
		t.Fatalf("anonymous token: %d", a.status)
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	var logins []string
	for _, l := range rec.logins {
		if !l.IP.IsLoopback() {
			t.Errorf("login of %s from %v; want the loopback client", l.Account, l.IP)
		}
		logins = append(logins, fmt.Sprintf("%s ok=%v %s", l.Account, l.OK, l.Reason))
	}
	want := []string{"test ok=true ", "test ok=false wrong credentials", "admin ok=true "}
	if diff := cmp.Diff(want, logins); diff != "" {
		t.Errorf("logins differ (-want +got):\n%s", diff)
	}
	if len(rec.denials) != 1 {
		t.Fatalf("%d denials; want test's push", len(rec.denials))
	}
	d := rec.denials[0]
	if d.Account != "test" || d.Service != "registry" || d.Asked[0].String() != "repository:app:pull,push" || d.Granted[0].String() != "repository:app:pull" {
		t.Errorf("denial = %+v; want test asked repository:app:pull,push and granted pull", d)
	}
	// The hook is never handed a password.
	if all := fmt.Sprintf("%+v %+v", rec.logins, rec.denials); strings.Contains(all, "test-pw") || strings.Contains(all, "wrong-secret") || strings.Contains(all, "admin-pw") {
		t.Errorf("a password reached the audit hook: %s", all)
	}
}

// TestAuditSessions: a session's refresh is no login (docker refreshes for
// every pull), a refused one is a failed login, without the token.
func TestAuditSessions(t *testing.T) {
	t.Parallel()
	rec := &auditRecorder{}
	f := newFixtureWith(t, func(c *tokenserver.Config) { c.Audit = rec })
	rt := f.login(t, "test", "test-pw")
	if a := f.refresh(t, rt, "repository:app:pull"); a.status != 200 {
		t.Fatalf("refresh: %d", a.status)
	}
	const bogus = "not-a-refresh-token-0123456789"
	if a := f.refresh(t, bogus, "repository:app:pull"); a.status != 401 {
		t.Fatalf("refresh with a bogus token: %d; want 401", a.status)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var got []string
	for _, l := range rec.logins {
		got = append(got, fmt.Sprintf("%q ok=%v %s", l.Account, l.OK, l.Reason))
	}
	want := []string{`"test" ok=true `, `"" ok=false invalid, expired or revoked session`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("logins differ (-want +got):\n%s", diff)
	}
	if all := fmt.Sprintf("%+v", rec.logins); strings.Contains(all, rt) || strings.Contains(all, bogus) {
		t.Errorf("a refresh token reached the audit hook: %s", all)
	}
}
