package accounts_test

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"wharf/internal/accounts"
	"wharf/internal/auth/authz"
)

func TestSampleName(t *testing.T) {
	t.Parallel()
	for p, want := range map[string]string{
		"dev/app":              "dev/app",
		"dev/*":                "dev/x",
		"*":                    "x",
		"team-?/app":           "team-x/app",
		"[bc]at/*":             "bat/x",
		"[^a]pp":               "xpp",
		`lit\*eral`:            "lit*eral",
		"/^dev/(app|web)$/":    "dev/app",
		"/^team/[a-z]+/base$/": "team/a/base",
		"/dev/.*/":             "dev/",
	} {
		if got := accounts.SampleName(p); got != want {
			t.Errorf("SampleName(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestTokenShortfalls(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store, _ := open(t)
	svc := accounts.NewService(store, accounts.Options{Cost: bcrypt.MinCost})
	if err := svc.AddUser(ctx, accounts.NewUser{Name: "ci", Robot: true}); err != nil {
		t.Fatal(err)
	}
	shortfalls := func(scopes ...string) []accounts.Shortfall {
		t.Helper()
		out, err := svc.TokenShortfalls(ctx, "ci", scopes)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	got := shortfalls("repository:dev/*:pull")
	if len(got) != 1 || got[0].Checked != "dev/x" || strings.Join(got[0].Missing, ",") != "pull" {
		t.Fatalf("no rule: %+v", got)
	}
	msg := got[0].String()
	for _, want := range []string{"grants ci no pull on repository dev/*", "checked as dev/x", "wharf acl add --account ci --type repository --name 'dev/*' --actions pull"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not say %q", msg, want)
		}
	}

	got = shortfalls("registry:catalog:*")
	if len(got) != 1 || !strings.Contains(got[0].String(), "no access (*) on registry catalog") || !strings.HasSuffix(got[0].String(), "--actions '*'") {
		t.Errorf("every action of the catalog: %+v", got)
	}

	if _, err := svc.AddRule(ctx, authz.Rule{Match: authz.Match{Account: str("ci"), Name: str("dev/*")}, Actions: []string{"pull"}}, 0); err != nil {
		t.Fatal(err)
	}
	if got := shortfalls("repository:dev/*:pull", "repository:dev/app:pull"); len(got) != 0 {
		t.Errorf("granted scopes: %+v", got)
	}
	got = shortfalls("repository:dev/*:*", "repository:prod/app:pull")
	if len(got) != 2 || strings.Join(got[0].Missing, ",") != "push,delete" || got[1].Checked != "prod/app" ||
		strings.Contains(got[1].String(), "checked as") {
		t.Errorf("partly granted: %+v", got)
	}

	// A rule for part of a pattern is not seen: the sample is outside it.
	if _, err := svc.AddRule(ctx, authz.Rule{Match: authz.Match{Account: str("ci"), Name: str("web/app")}, Actions: []string{"pull"}}, 0); err != nil {
		t.Fatal(err)
	}
	if got := shortfalls("repository:web/*:pull"); len(got) != 1 {
		t.Errorf("a rule for one name of the pattern: %+v", got)
	}
	if got, err := svc.TokenShortfalls(ctx, "nobody", []string{"repository:x:pull"}); err != nil || got != nil {
		t.Errorf("an unknown user: %+v, %v", got, err)
	}
}
