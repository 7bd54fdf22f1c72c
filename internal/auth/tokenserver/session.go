package tokenserver

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/errcode"
)

// A refresh token is a session: what `docker login` keeps as its identity
// token and trades for access tokens from then on. It records the backend
// that admitted the account (its source) and a stamp of the credential
// used; every refresh asks that backend again (Sessions.Confirm), so that
// a session ends when the access it was opened with does. Sessions whose
// backend cannot answer without a password live UnconfirmedTTL instead of
// RefreshTTL.

// newRefreshToken stores a session for id, opened with the credential
// stamp, and returns its token.
func (s *Server) newRefreshToken(ctx context.Context, id auth.Identity, stamp string, req request) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	source := id.Labels.Source()
	ttl := s.cfg.RefreshTTL
	if s.cfg.Sessions == nil || !s.cfg.Sessions.CanConfirm(source, stamp) {
		ttl = s.cfg.UnconfirmedTTL
	}
	err := s.cfg.Refresh.CreateRefreshToken(ctx, tok, auth.Session{
		Account: id.Account, Source: source, Stamp: stamp, Service: req.service, ClientID: req.clientID,
		Labels: id.Labels, ExpiresAt: s.cfg.Now().Add(ttl),
	})
	return tok, err
}

// refresh turns a refresh token back into the identity it was issued to,
// as the backend it came from sees the account now. Bogus refresh tokens
// are failures of the client's address only: no account's bucket, which
// every refresh would share.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request, raw string, req request) (auth.Identity, bool) {
	ctx := r.Context()
	limit, err := s.cfg.Limiter.ReserveAddress(ctx, req.ip)
	if err != nil {
		s.refuse(w, r, err, authentication)
		return auth.Identity{}, false
	}
	if s.cfg.Refresh == nil || raw == "" || len(raw) > 256 {
		limit.Failed()
		s.fail(w, errcode.Unauthorized, "invalid refresh token")
		return auth.Identity{}, false
	}
	rt, err := s.cfg.Refresh.UseRefreshToken(ctx, raw, s.cfg.Now())
	if errors.Is(err, auth.ErrNoSession) || (err == nil && rt.Service != req.service) {
		limit.Failed()
		s.cfg.Log.InfoContext(ctx, "refresh token refused", "ip", req.ip)
		s.audit(ctx, Login{IP: req.ip, Reason: "invalid, expired or revoked session"})
		s.fail(w, errcode.Unauthorized, "invalid, expired or revoked refresh token; log in again")
		return auth.Identity{}, false
	}
	if err != nil {
		limit.Cancel()
		s.cfg.Log.ErrorContext(ctx, "refresh token lookup failed", "err", err)
		s.fail(w, errcode.Unknown, "refresh token lookup failed; the server log has the details")
		return auth.Identity{}, false
	}
	// A genuine session from here on: whether it still holds is no guess.
	limit.Succeeded()
	stored := auth.Identity{Account: rt.Account, Labels: rt.Labels}
	switch {
	case rt.Source == "" && stored.Labels.Source() == "database":
		// A database session stored before sessions had a source: the
		// authorizer reads the account as it is now at every request, and
		// a password change or removal revoked it in the same transaction.
		return stored, true
	case rt.Source == "":
		return s.endSession(w, r, rt, "it was opened by an earlier version of Wharf, which did not record where the account came from")
	case s.cfg.Sessions == nil || !s.cfg.Sessions.CanConfirm(rt.Source, rt.Stamp):
		// Its backend cannot be asked without a password; the session's
		// shorter lifetime bounds it.
		return stored, true
	}
	res, labels, err := s.cfg.Sessions.Confirm(ctx, rt.Source, rt.Account, rt.Stamp)
	switch {
	case err != nil:
		s.refuse(w, r, err, authentication, "account", rt.Account, "source", rt.Source, "session", rt.ID)
		return auth.Identity{}, false
	case res != authn.Accepted:
		return s.endSession(w, r, rt, "the "+rt.Source+" backend no longer admits the account with the credential it logged in with (removed, disabled, or its password changed)")
	}
	return auth.Identity{Account: rt.Account, Labels: labels}, true
}

// endSession revokes a session whose account is no longer admitted, and
// answers 401: the client must log in again.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request, rt *auth.Session, why string) (auth.Identity, bool) {
	ctx := r.Context()
	if err := s.cfg.Refresh.RevokeRefreshToken(ctx, rt.ID, s.cfg.Now()); err != nil && !errors.Is(err, auth.ErrNoSession) {
		s.cfg.Log.ErrorContext(ctx, "revoking an ended session failed", "session", rt.ID, "err", err)
	}
	s.cfg.Log.InfoContext(ctx, "session ended", "account", rt.Account, "source", rt.Source, "session", rt.ID, "reason", why)
	s.audit(ctx, Login{Account: rt.Account, Source: rt.Source, IP: s.cfg.ClientIP(r), Reason: "session ended: " + why})
	s.fail(w, errcode.Unauthorized, "this login session has ended; log in again")
	return auth.Identity{}, false
}

// tokenID is the access token an identity logged in with ("" if none).
func tokenID(l auth.Labels) string {
	if v := l[auth.LabelToken]; len(v) == 1 {
		return v[0]
	}
	return ""
}
