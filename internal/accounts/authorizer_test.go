package accounts_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"wharf/internal/accounts"
	"wharf/internal/auth"
	"wharf/internal/auth/authz"
)

func TestTeamsAndRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	e.must(t, e.svc.AddUser(ctx, accounts.NewUser{Name: "alice", Password: "alice password 1"}))
	e.must(t, e.svc.AddTeam(ctx, "dev"))
	_, err := e.svc.AddRule(ctx, authz.Rule{Match: authz.Match{Labels: map[string]string{"groups": "dev"}, Name: str("dev/*")}, Actions: []string{"pull", "push"}}, 0)
	e.must(t, err)
	alice := e.login(t, "alice", "alice password 1")
	e.wantGrant(t, alice, "repository:dev/app:pull,push") // not in the team yet: no rule matches

	// Joining the team takes effect for the identity captured at login
	// (as a refresh token keeps it): the guard reads current teams.
	e.must(t, e.svc.AddMember(ctx, "dev", "alice"))
	e.wantGrant(t, alice, "repository:dev/app:pull,push", "pull", "push")
	e.wantGrant(t, alice, "repository:ops/app:pull")

	// A rule added in front decides first.
	_, err = e.svc.AddRule(ctx, authz.Rule{Match: authz.Match{Account: str("alice")}, Actions: []string{"pull"}}, 1)
	e.must(t, err)
	e.wantGrant(t, alice, "repository:dev/app:pull,push", "pull")

	// The configuration's ACL comes first.
	admin := auth.Identity{Account: "admin"}
	e.wantGrant(t, admin, "repository:dev/app:push", "push")

	// Leaving the team, being disabled or removed ends access.
	e.must(t, e.svc.RemoveMember(ctx, "dev", "alice"))
	rules, _ := e.svc.Store().ListACLRules(ctx)
	e.must(t, e.svc.RemoveRule(ctx, rules[0].ID))
	e.wantGrant(t, alice, "repository:dev/app:pull")
	e.must(t, e.svc.AddMember(ctx, "dev", "alice"))
	e.wantGrant(t, alice, "repository:dev/app:pull", "pull")
	e.must(t, e.svc.SetDisabled(ctx, "alice", true))
	e.wantGrant(t, alice, "repository:dev/app:pull")
	e.must(t, e.svc.SetDisabled(ctx, "alice", false))
	e.must(t, e.svc.RemoveUser(ctx, "alice"))
	e.wantGrant(t, alice, "repository:dev/app:pull")
}

func TestTokenScopes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	e.must(t, e.svc.AddUser(ctx, accounts.NewUser{Name: "ci", Robot: true}))
	_, err := e.svc.AddRule(ctx, authz.Rule{Match: authz.Match{Account: str("ci")}, Actions: []string{"pull", "push"}}, 0)
	e.must(t, err)
	tok, meta, err := e.svc.CreateToken(ctx, accounts.NewToken{User: "ci", Scopes: []string{"repository:team/*:pull", "registry:catalog:*"},
		ExpiresAt: e.clock.now.Add(time.Hour)})
	e.must(t, err)
	ci := e.login(t, "ci", tok)

	// grant = ACL ∩ token scopes.
	e.wantGrant(t, ci, "repository:team/app:pull,push", "pull")
	e.wantGrant(t, ci, "repository:other/app:pull")
	e.wantGrant(t, ci, "registry:catalog:*") // the scope allows it, the ACL does not

	// An identity forged with a token label of another account gets nothing.
	e.wantGrant(t, auth.Identity{Account: "admin", Labels: auth.Labels{accounts.LabelToken: {meta.ID}}}, "repository:team/app:pull")

	// Expired, then revoked: nothing, even for a session opened before.
	e.clock.now = e.clock.now.Add(2 * time.Hour)
	e.wantGrant(t, ci, "repository:team/app:pull")
	e.clock.now = e.clock.now.Add(-2 * time.Hour)
	e.wantGrant(t, ci, "repository:team/app:pull", "pull")
	_, err = e.svc.RevokeToken(ctx, meta.ID)
	e.must(t, err)
	e.wantGrant(t, ci, "repository:team/app:pull")
}

func TestExplain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	e.must(t, e.svc.AddUser(ctx, accounts.NewUser{Name: "ci", Robot: true}))
	stored, err := e.svc.AddRule(ctx, authz.Rule{Match: authz.Match{Account: str("ci")}, Actions: []string{"pull", "push"}, Comment: "ci"}, 0)
	e.must(t, err)
	_, meta, err := e.svc.CreateToken(ctx, accounts.NewToken{User: "ci", Scopes: []string{"repository:team/*:pull"}})
	e.must(t, err)
	static, _ := authz.New([]authz.Rule{{Match: authz.Match{Account: str("admin")}, Actions: []string{"*"}}})
	layers := []accounts.Layer{{Name: "configuration", ACL: static}}
	req := auth.Request{Identity: auth.Identity{Account: "ci", Labels: auth.Labels{accounts.LabelSource: {accounts.SourceDatabase}, accounts.LabelToken: {meta.ID}}},
		Access: auth.Access{Type: "repository", Name: "team/app", Actions: []string{"pull", "push"}}}
	ex, err := accounts.Explain(ctx, e.live, layers, req)
	e.must(t, err)
	if ex.Layer != "database" || ex.Index != stored.Position-1 || ex.Rule.Comment != "ci" || ex.TokenScope != 0 ||
		!cmp.Equal(ex.RuleAllowed, []string{"pull", "push"}) || !cmp.Equal(ex.Granted, []string{"pull"}) {
		t.Errorf("Explain = %+v", ex)
	}
	req.Identity = auth.Identity{Account: "admin"}
	ex, err = accounts.Explain(ctx, e.live, layers, req)
	e.must(t, err)
	if ex.Layer != "configuration" || ex.Index != 0 || !cmp.Equal(ex.Granted, []string{"pull", "push"}) {
		t.Errorf("Explain(admin) = %+v", ex)
	}
	req.Identity = auth.Identity{Account: "bob"}
	ex, err = accounts.Explain(ctx, e.live, layers, req)
	e.must(t, err)
	if ex.Layer != "" || len(ex.Granted) != 0 {
		t.Errorf("Explain(bob) = %+v; want no rule, nothing granted", ex)
	}
}

func TestIdentify(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	e.must(t, e.svc.AddUser(ctx, accounts.NewUser{Name: "alice", Password: "alice's password"}))
	e.must(t, e.svc.AddUser(ctx, accounts.NewUser{Name: "ci", Robot: true}))
	e.must(t, e.svc.AddUser(ctx, accounts.NewUser{Name: "bob", Robot: true}))
	e.must(t, e.svc.AddTeam(ctx, "dev"))
	e.must(t, e.svc.AddMember(ctx, "dev", "alice"))
	snap, err := e.live.Snapshot(ctx)
	e.must(t, err)
	configured := map[string]auth.Labels{"bob": {"org": {"acme"}}, "admin": nil}
	for _, tc := range []struct {
		account, token string
		want           accounts.Subject
	}{
		{"alice", "", accounts.Subject{Kind: accounts.KindDatabase, Labels: auth.Labels{"groups": {"dev"}, "wharf.source": {"database"}}}},
		{"ci", "tok1", accounts.Subject{Kind: accounts.KindRobot, Labels: auth.Labels{"wharf.source": {"database"}, "wharf.token": {"tok1"}}}},
		{"bob", "", accounts.Subject{Kind: accounts.KindConfigured, Shadows: true, Labels: auth.Labels{"org": {"acme"}, "wharf.source": {"static"}}}},
		{"admin", "", accounts.Subject{Kind: accounts.KindConfigured, Labels: auth.Labels{"wharf.source": {"static"}}}},
		{"", "", accounts.Subject{Kind: accounts.KindAnonymous}},
		{"carol", "", accounts.Subject{Kind: accounts.KindUnknown}},
	} {
		got := accounts.Identify(snap, configured, tc.account, tc.token)
		if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Identify(%q, %q): -want +got\n%s", tc.account, tc.token, diff)
		}
	}
	accounts.Identify(snap, configured, "bob", "tok2")
	if _, leaked := configured["bob"]["wharf.token"]; leaked {
		t.Error("Identify changed the configured labels")
	}
}

// seen records the labels it is asked with.
type seen struct{ labels []auth.Labels }

func (s *seen) Authorize(_ context.Context, req auth.Request) ([]string, error) {
	s.labels = append(s.labels, req.Identity.Labels)
	return nil, authz.ErrNoMatch
}

func (*seen) Name() string { return "seen" }

// No authorizer behind the guard (an external program, a webhook) is told
// a login's credential stamp.
func TestGuardHidesTheStamp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := &seen{}
	guard := accounts.NewGuard(rec, e.live, nil)
	labels := auth.Labels{"team": {"dev"}, auth.LabelStamp: {"s"}, auth.LabelSource: {"ext_auth"}}
	a, _ := auth.ParseScope("repository:app:pull")
	if _, err := guard.Authorize(t.Context(), auth.Request{Identity: auth.Identity{Account: "eve", Labels: labels}, Access: a}); err != nil && err != authz.ErrNoMatch {
		t.Fatal(err)
	}
	want := []auth.Labels{{"team": {"dev"}, auth.LabelSource: {"ext_auth"}}}
	if diff := cmp.Diff(want, rec.labels); diff != "" {
		t.Errorf("labels the authorizer saw (-want +got):\n%s", diff)
	}
	if len(labels[auth.LabelStamp]) != 1 {
		t.Error("the caller's labels were changed")
	}
}
