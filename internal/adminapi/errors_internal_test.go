package adminapi

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"wharf/internal/accounts"
	"wharf/internal/errcode"
	"wharf/internal/metadata"
)

// TestToErrorConflicts: a change refused, or lost to concurrent account
// changes at every attempt, is a 409 the client can act on, not a 503.
func TestToErrorConflicts(t *testing.T) {
	a := &API{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	r := httptest.NewRequest("DELETE", "/api/v1/users/ops", nil)
	for _, tc := range []struct {
		name string
		err  error
		code errcode.Code
	}{
		{"last admin", fmt.Errorf("%w: ops is the last administrator", accounts.ErrRefused), errcode.AdminConflict},
		{"lost race", fmt.Errorf("accounts: remove ops: accounts kept changing while it was checked (8 attempts); try again: %w", metadata.ErrIdentityChanged), errcode.AdminConflict},
		{"database", errors.New("metadata: database is locked"), errcode.AdminUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := a.toError(r, tc.err)
			if e.Code != tc.code {
				t.Fatalf("code %v, want %v (message %q)", e.Code, tc.code, e.Message)
			}
			if tc.code == errcode.AdminConflict && e.Message == "" {
				t.Fatal("a conflict without a message")
			}
		})
	}
}
