package tokenserver

import (
	"errors"
	"net/http"

	"wharf/internal/auth"
	"wharf/internal/metadata"
)

// post answers the OAuth2 form (RFC 6749 §4.3 and §6) that containerd,
// buildkit and Docker's identity-token flow send.
func (s *Server) post(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "UNSUPPORTED", "the body is not a valid form (or is larger than 64 KiB)")
		return
	}
	f := r.PostForm
	req, ok := s.parseCommon(w, r, f.Get("service"), f["scope"], f.Get("client_id"))
	if !ok {
		return
	}
	switch f.Get("grant_type") {
	case "password":
		id, ok := s.authenticate(w, r, f.Get("username"), auth.Secret(f.Get("password")), req.ip)
		if !ok {
			return
		}
		req.offline = f.Get("access_type") == "offline"
		s.issue(w, r, id, req, true)
	case "refresh_token":
		id, ok := s.refresh(w, r, f.Get("refresh_token"), req)
		if !ok {
			return
		}
		s.issue(w, r, id, req, true)
	default:
		s.fail(w, r, http.StatusBadRequest, "UNSUPPORTED", `grant_type must be "password" or "refresh_token"`)
	}
}

// refresh turns a refresh token back into the identity it was issued to.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request, raw string, req request) (auth.Identity, bool) {
	ctx := r.Context()
	limit, err := s.cfg.Limiter.ReserveAddress(ctx, req.ip)
	if err != nil {
		s.refuse(w, r, err, authentication)
		return auth.Identity{}, false
	}
	if s.cfg.Refresh == nil || raw == "" || len(raw) > 256 {
		limit.Failed()
		s.fail(w, r, http.StatusUnauthorized, "UNAUTHORIZED", "invalid refresh token")
		return auth.Identity{}, false
	}
	rt, err := s.cfg.Refresh.UseRefreshToken(ctx, raw, s.cfg.Now())
	if errors.Is(err, metadata.ErrNotFound) || (err == nil && rt.Service != req.service) {
		limit.Failed()
		s.cfg.Log.InfoContext(ctx, "refresh token refused", "ip", req.ip)
		s.fail(w, r, http.StatusUnauthorized, "UNAUTHORIZED", "invalid, expired or revoked refresh token; log in again")
		return auth.Identity{}, false
	}
	if err != nil {
		limit.Cancel()
		s.cfg.Log.ErrorContext(ctx, "refresh token lookup failed", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "UNKNOWN", "refresh token lookup failed; the server log has the details")
		return auth.Identity{}, false
	}
	limit.Succeeded()
	return auth.Identity{Account: rt.Account, Labels: rt.Labels}, true
}
