package authn_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/static"
)

// A backend's answer cannot claim another source, nor any reserved label
// but the two that only narrow what an account gets.
func TestChainDropsReservedLabels(t *testing.T) {
	t.Parallel()
	ext := fake{name: "ext_auth", res: authn.Accepted, labels: auth.Labels{
		"team": {"dev"}, auth.LabelSource: {"database"}, "wharf.admin": {"yes"},
		auth.LabelToken: {"t1"}, auth.LabelStamp: {"s"},
	}}
	_, labels, err := authn.NewChain(nil, ext).Authenticate(context.Background(), "alice", "pw")
	if err != nil {
		t.Fatal(err)
	}
	want := auth.Labels{"team": {"dev"}, auth.LabelSource: {"ext_auth"}, auth.LabelToken: {"t1"}, auth.LabelStamp: {"s"}}
	if diff := cmp.Diff(want, labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
}

// Chain.Confirm goes to the backend a session came from, by its source.
func TestChainConfirm(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	st, err := static.New(map[string]static.User{"alice": {Password: auth.Secret(h), Labels: auth.Labels{"team": {"dev"}}}})
	if err != nil {
		t.Fatal(err)
	}
	ext := fake{name: "ext_auth", res: authn.NoMatch}
	chain := authn.NewChain(nil, ext, st)
	_, labels, err := chain.Authenticate(ctx, "alice", "pw")
	if err != nil || labels.Source() != "static" {
		t.Fatalf("login: %v, %v", labels, err)
	}
	stamp := authn.TakeStamp(labels)

	res, fresh, err := chain.Confirm(ctx, "static", "alice", stamp)
	if err != nil || res != authn.Accepted {
		t.Fatalf("Confirm = %v, %v", res, err)
	}
	if diff := cmp.Diff(labels, fresh); diff != "" {
		t.Errorf("confirmed labels (-login +confirm):\n%s", diff)
	}
	if !chain.CanConfirm("static", stamp) || chain.CanConfirm("ext_auth", "") || chain.CanConfirm("ldap", "") {
		t.Error("CanConfirm: want true for static only")
	}
	for _, tc := range []struct {
		source, account, stamp string
		wantErr                error
	}{
		{"static", "alice", "another stamp", nil},
		{"static", "bob", stamp, nil},
		{"ldap", "alice", stamp, nil}, // a source no longer configured
		{"ext_auth", "alice", "", authn.ErrUnconfirmable},
	} {
		res, labels, err := chain.Confirm(ctx, tc.source, tc.account, tc.stamp)
		if res != authn.WrongPassword || labels != nil || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
			t.Errorf("Confirm(%s, %s, %q) = %v, %v, %v; want wrong password, error %v", tc.source, tc.account, tc.stamp, res, labels, err, tc.wantErr)
		}
	}
}
