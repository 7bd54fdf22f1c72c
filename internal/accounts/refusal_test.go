package accounts_test

import (
	"errors"
	"fmt"
	"testing"

	"wharf/internal/accounts"
	"wharf/internal/metadata"
)

// TestRefused: every interface answers the service's refusals alike, in
// the service's words without package prefixes; the database's own
// failures carry no words to show.
func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		err  error
		kind accounts.Refusal
		msg  string
	}{
		{fmt.Errorf("%w: a robot account has no password", accounts.ErrInvalid), accounts.Invalid, "a robot account has no password"},
		{fmt.Errorf("%w: user bob", metadata.ErrNotFound), accounts.Missing, "no such user bob"},
		{fmt.Errorf("%w: ops is the last administrator", accounts.ErrRefused), accounts.Conflict, "ops is the last administrator"},
		{fmt.Errorf("%w: team dev", metadata.ErrExists), accounts.Conflict, "team dev already exists"},
		{fmt.Errorf("accounts: remove ops: kept changing: %w", metadata.ErrIdentityChanged), accounts.Conflict,
			"users, teams, rules or tokens kept changing while this change was checked; try again"},
		{errors.New("metadata: database is locked"), accounts.Failed, ""},
	} {
		kind, msg := accounts.Refused(tc.err)
		if kind != tc.kind || msg != tc.msg {
			t.Errorf("Refused(%q) = %v, %q; want %v, %q", tc.err, kind, msg, tc.kind, tc.msg)
		}
	}
}
