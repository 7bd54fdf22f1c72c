package tokenserver

import (
	"errors"
	"net/http"
	"os"

	"wharf/internal/auth"
	"wharf/internal/errcode"
)

// post answers the OAuth2 form (RFC 6749 §4.3 and §6) that containerd,
// buildkit and Docker's identity-token flow send.
func (s *Server) post(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); errors.Is(err, os.ErrDeadlineExceeded) {
		// The server's read deadline (limits.body_timeout) passed.
		s.fail(w, errcode.TokenTimeout, "the request body did not arrive in time; send it again")
		return
	} else if err != nil {
		s.fail(w, errcode.TokenRequestInvalid, "the body is not a valid form (or is larger than 64 KiB)")
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
		s.fail(w, errcode.TokenRequestInvalid, `grant_type must be "password" or "refresh_token"`)
	}
}
