package identity

import (
	"context"
	"fmt"

	"wharf/internal/metadata"
)

// Sessions are docker login sessions: the refresh tokens the token server
// hands to `docker login` (its identity token), one per login, whatever
// backend the account came from. Each refresh confirms the account with
// that backend; revoking one ends it at its next use (the access tokens it
// already got live out their few minutes).

// Sessions lists the live sessions of user ("" for everyone's), newest
// first.
func (s *Service) Sessions(ctx context.Context, user string) ([]metadata.RefreshToken, error) {
	return s.store.ListRefreshTokens(ctx, user, s.opts.Now())
}

// RevokeSession ends the live session id.
func (s *Service) RevokeSession(ctx context.Context, id string) (*metadata.RefreshToken, error) {
	if !validSessionID(id) {
		return nil, fmt.Errorf("%w: %q is not a session id (16 hex digits, as `wharf session ls` shows)", ErrInvalid, id)
	}
	return s.store.RevokeRefreshToken(ctx, id, s.opts.Now())
}

// RevokeSessions ends every session of user, and returns how many.
func (s *Service) RevokeSessions(ctx context.Context, user string) (int64, error) {
	if user == "" {
		return 0, fmt.Errorf("%w: name the user whose sessions end", ErrInvalid)
	}
	return s.store.RevokeRefreshTokens(ctx, user)
}

// RevokeAllSessions ends every session of every user: everyone logs in
// again.
func (s *Service) RevokeAllSessions(ctx context.Context) (int64, error) {
	return s.store.RevokeAllRefreshTokens(ctx)
}

func validSessionID(id string) bool {
	if len(id) != 16 {
		return false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
