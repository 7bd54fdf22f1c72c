package adminapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"wharf/internal/auth"
	"wharf/internal/errcode"
)

// UpstreamCredentials sets, lists and removes the credentials of the
// pull-through cache's upstreams stored in the database; the server builds
// it over internal/upstreamcreds, which this package does not import. The
// password goes in, never out: no answer, log line or audit record holds
// it.
type UpstreamCredentials struct {
	// List is every configured upstream with where its credential comes
	// from, then the stored credentials no upstream uses (JSON-ready).
	List func(ctx context.Context) (any, error)
	// Set stores a credential and returns what List shows of it. Errors
	// wrap ErrNoUpstream or ErrInvalidCredential for the caller's mistakes,
	// ErrCredentialKey for a key file the operator must provide.
	Set func(ctx context.Context, upstream, username string, password auth.Secret) (any, error)
	// Remove deletes one; ErrNoCredential when none was stored.
	Remove func(ctx context.Context, upstream string) error
}

// Errors the UpstreamCredentials functions wrap; their messages say what
// to do and never hold a password.
var (
	ErrNoUpstream        = errors.New("adminapi: no such upstream")
	ErrInvalidCredential = errors.New("adminapi: invalid credential")
	ErrNoCredential      = errors.New("adminapi: no credential stored")
	// ErrCredentialKey is a key file the server cannot seal with (a
	// configured one that does not exist): the operator's to fix.
	ErrCredentialKey = errors.New("adminapi: the key that seals upstream credentials cannot be read")
)

var errNoProxy = &errcode.Error{Code: errcode.AdminNotFound,
	Message: "this server has no pull-through cache (proxy.upstreams in wharf.yml, docs/proxy.md)"}

// upstreamCredentialRequest is the body of PUT /upstream-credentials/{name}.
// The password is a Secret: it never prints.
type upstreamCredentialRequest struct {
	Username string      `json:"username"`
	Password auth.Secret `json:"password"`
}

// listUpstreamCredentials answers GET /upstream-credentials: where each
// upstream's credential comes from, never a password.
func (a *API) listUpstreamCredentials(w http.ResponseWriter, r *http.Request, _ caller) error {
	uc := a.cfg.UpstreamCredentials
	if uc == nil {
		return errNoProxy
	}
	list, err := uc.List(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"upstreams": list})
	return nil
}

// setUpstreamCredential answers PUT /upstream-credentials/{name}: the
// credential replaces the stored one (and the configuration's) from the
// next token request of every replica.
func (a *API) setUpstreamCredential(w http.ResponseWriter, r *http.Request, c caller) error {
	uc := a.cfg.UpstreamCredentials
	if uc == nil {
		return errNoProxy
	}
	name := r.PathValue("name")
	var req upstreamCredentialRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Username == "" {
		return invalid("username", "username is required (the account at the upstream)")
	}
	if req.Password == "" {
		return invalid("password", "password is required (the password or token at the upstream)")
	}
	info, err := uc.Set(r.Context(), name, req.Username, req.Password)
	if err != nil {
		return upstreamCredentialError(err)
	}
	a.audit(r, c, "upstream credential set", "upstream", name)
	writeJSON(w, http.StatusOK, info)
	return nil
}

// removeUpstreamCredential answers DELETE /upstream-credentials/{name}.
func (a *API) removeUpstreamCredential(w http.ResponseWriter, r *http.Request, c caller) error {
	uc := a.cfg.UpstreamCredentials
	if uc == nil {
		return errNoProxy
	}
	name := r.PathValue("name")
	if err := uc.Remove(r.Context(), name); err != nil {
		return upstreamCredentialError(err)
	}
	a.audit(r, c, "upstream credential removed", "upstream", name)
	noContent(w)
	return nil
}

// upstreamCredentialError turns the caller's mistakes into 404 and 400
// answers with the store's explanation (what follows the sentinel).
func upstreamCredentialError(err error) error {
	for _, e := range []struct {
		sentinel error
		code     errcode.Code
	}{{ErrNoUpstream, errcode.AdminNotFound}, {ErrNoCredential, errcode.AdminNotFound}, {ErrInvalidCredential, errcode.AdminInvalid},
		{ErrCredentialKey, errcode.AdminConflict}} {
		if errors.Is(err, e.sentinel) {
			return &errcode.Error{Code: e.code, Message: strings.TrimPrefix(err.Error(), e.sentinel.Error()+": ")}
		}
	}
	return err
}
