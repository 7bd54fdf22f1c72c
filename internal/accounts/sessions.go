package accounts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"wharf/internal/auth"
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

// SessionsAfter lists at most n (n <= 0: all) of everyone's live sessions
// whose ids follow after, by id: a page of a listing, read a page at a
// time from the database.
func (s *Service) SessionsAfter(ctx context.Context, after string, n int) ([]metadata.RefreshToken, error) {
	return s.store.ListRefreshTokensAfter(ctx, after, n, s.opts.Now())
}

// RevokeSession ends the live session id.
func (s *Service) RevokeSession(ctx context.Context, id string) (_ *metadata.RefreshToken, err error) {
	defer s.changed(ctx, "session.revoke", "session "+id, &err)
	if !validSessionID(id) {
		return nil, fmt.Errorf("%w: %q is not a session id (16 hex digits, as `wharf session ls` shows)", ErrInvalid, id)
	}
	return s.store.RevokeRefreshToken(ctx, id, s.opts.Now())
}

// RevokeSessions ends every session of user, and returns how many.
func (s *Service) RevokeSessions(ctx context.Context, user string) (_ int64, err error) {
	defer s.changed(ctx, "session.revoke", "user "+user, &err)
	if user == "" {
		return 0, fmt.Errorf("%w: name the user whose sessions end", ErrInvalid)
	}
	return s.store.RevokeRefreshTokens(ctx, user)
}

// RevokeAllSessions ends every session of every user: everyone logs in
// again.
func (s *Service) RevokeAllSessions(ctx context.Context) (_ int64, err error) {
	defer s.changed(ctx, "session.revoke", "all sessions", &err)
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

// SessionStore keeps the token server's sessions in the metadata database
// (tokenserver.RefreshStore): the sessions Service lists and revokes. The
// token server speaks auth.Session and auth.ErrNoSession, so that it knows
// no database.
type SessionStore struct {
	store *metadata.Store
}

// NewSessionStore returns the sessions of store.
func NewSessionStore(store *metadata.Store) *SessionStore { return &SessionStore{store: store} }

// CreateRefreshToken stores the hash of token for session (its ID is
// derived from the token).
func (s *SessionStore) CreateRefreshToken(ctx context.Context, token string, session auth.Session) error {
	return s.store.CreateRefreshToken(ctx, token, metadata.RefreshToken{Account: session.Account, Source: session.Source,
		Stamp: session.Stamp, Service: session.Service, ClientID: session.ClientID, Labels: session.Labels, ExpiresAt: session.ExpiresAt})
}

// UseRefreshToken returns the live session of token and records its use
// at now; auth.ErrNoSession when it is unknown, revoked or expired.
func (s *SessionStore) UseRefreshToken(ctx context.Context, token string, now time.Time) (*auth.Session, error) {
	rt, err := s.store.UseRefreshToken(ctx, token, now)
	if err != nil {
		return nil, noSession(err)
	}
	return &auth.Session{ID: rt.ID, Account: rt.Account, Source: rt.Source, Stamp: rt.Stamp, Service: rt.Service,
		ClientID: rt.ClientID, Labels: rt.Labels, ExpiresAt: rt.ExpiresAt}, nil
}

// RevokeRefreshToken ends the live session id; auth.ErrNoSession when
// there is none.
func (s *SessionStore) RevokeRefreshToken(ctx context.Context, id string, now time.Time) error {
	_, err := s.store.RevokeRefreshToken(ctx, id, now)
	return noSession(err)
}

// noSession makes the store's not-found the token server's sentinel.
func noSession(err error) error {
	if errors.Is(err, metadata.ErrNotFound) {
		return fmt.Errorf("%w: %w", auth.ErrNoSession, err)
	}
	return err
}
