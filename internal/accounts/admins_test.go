package accounts_test

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"wharf/internal/accounts"
	"wharf/internal/auth"
	"wharf/internal/auth/authz"
)

// adminService is wharf serve's view of a database: a built-in admin in
// it, and a configured ACL that grants admin and root everything; root is
// a configured account when configured is set.
func adminService(t *testing.T, configured bool) *accounts.Service {
	t.Helper()
	store, _ := open(t)
	acl, err := authz.New([]authz.Rule{
		{Match: authz.Match{Account: str("admin")}, Actions: []string{"*"}},
		{Match: authz.Match{Account: str("root")}, Actions: []string{"*"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	opts := accounts.Options{Cost: bcrypt.MinCost, Builtin: "admin", Layers: []accounts.Layer{{Name: "configuration", ACL: acl}}}
	if configured {
		opts.Configured = map[string]auth.Labels{"root": nil}
	}
	svc := accounts.NewService(store, opts)
	if err := svc.AddBuiltin(t.Context(), "the admin's password"); err != nil {
		t.Fatal(err)
	}
	return svc
}

func wantRefused(t *testing.T, err error, says ...string) {
	t.Helper()
	if !errors.Is(err, accounts.ErrRefused) {
		t.Fatalf("%v; want refused", err)
	}
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%v; want it to say %q", err, s)
		}
	}
}

func TestKeepAnAdmin(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	svc := adminService(t, false)

	wantRefused(t, svc.SetDisabled(ctx, "admin", true), "disabling admin", "no account that may administer", "wharf acl add --account ops --type admin --name api")
	wantRefused(t, svc.RemoveUser(ctx, "admin"), "built-in administrator", "wharf user disable admin")
	if err := svc.AddUser(ctx, accounts.NewUser{Name: "admin", Password: "another password"}); !errors.Is(err, accounts.ErrRefused) {
		t.Errorf("AddUser(admin): %v; want refused", err)
	}

	// A user the database's rules let administer, but disabled: named.
	if err := svc.AddUser(ctx, accounts.NewUser{Name: "ops", Password: "ops's long password"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddRule(ctx, authz.Rule{Match: authz.Match{Account: str("ops"), Type: str("admin")}, Actions: []string{"*"}}, 0); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetDisabled(ctx, "ops", true); err != nil {
		t.Fatalf("disabling ops while admin administers: %v", err)
	}
	wantRefused(t, svc.SetDisabled(ctx, "admin", true), "wharf user enable ops")
	if err := svc.SetDisabled(ctx, "ops", false); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetDisabled(ctx, "admin", true); err != nil {
		t.Fatalf("disabling admin while ops administers: %v", err)
	}
	wantRefused(t, svc.SetDisabled(ctx, "ops", true), "disabling ops")
	wantRefused(t, svc.RemoveUser(ctx, "ops"), "removing ops")
	if err := svc.SetDisabled(ctx, "admin", true); err != nil {
		t.Errorf("disabling the disabled admin again: %v", err)
	}
	if err := svc.SetDisabled(ctx, "admin", false); err != nil {
		t.Fatal(err)
	}
	if err := svc.RemoveUser(ctx, "ops"); err != nil {
		t.Errorf("removing ops while admin administers: %v", err)
	}

	// A robot counts with a usable token whose scopes allow the admin API.
	if err := svc.AddUser(ctx, accounts.NewUser{Name: "bot", Robot: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddRule(ctx, authz.Rule{Match: authz.Match{Account: str("bot")}, Actions: []string{"*"}}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateToken(ctx, accounts.NewToken{User: "bot", Scopes: []string{"repository:*:pull"}}); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, svc.SetDisabled(ctx, "admin", true))
	_, tok, err := svc.CreateToken(ctx, accounts.NewToken{User: "bot", Scopes: []string{"admin:api:*"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SetDisabled(ctx, "admin", true); err != nil {
		t.Fatalf("disabling admin while bot's token administers: %v", err)
	}
	if err := svc.SetDisabled(ctx, "admin", false); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, svc.SetDisabled(ctx, "admin", true))
}

// An account the configuration defines and the ACL lets administer keeps
// Wharf administered.
func TestKeepAnAdminCountsConfiguredAccounts(t *testing.T) {
	t.Parallel()
	svc := adminService(t, true)
	if err := svc.SetDisabled(t.Context(), "admin", true); err != nil {
		t.Errorf("disabling admin while the configured root administers: %v", err)
	}
}
