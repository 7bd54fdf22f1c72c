package adminapi

import (
	"context"
	"errors"
	"net/http"

	"wharf/internal/errcode"
)

// TokenKeys lists and rotates the token-signing keys; the server builds it
// over the token endpoint, which this package does not import.
type TokenKeys struct {
	// List is the JSON-ready key set, the signing key first.
	List func(ctx context.Context) (any, error)
	// Rotate adds a new signing key and returns the set after it. An
	// error wrapping ErrKeysConfigured means the key is a configured file.
	Rotate func(ctx context.Context) (any, error)
}

// ErrKeysConfigured is what TokenKeys wraps when token.key is configured.
var ErrKeysConfigured = errors.New("adminapi: the token-signing key is a configured file")

// keysError turns the configured-key refusal into a 409 that says what to
// do instead.
func keysError(err error) error {
	if errors.Is(err, ErrKeysConfigured) {
		return &errcode.Error{Code: errcode.AdminConflict,
			Message: "token.key is configured: rotate it by replacing the key and certificate files and restarting"}
	}
	return err
}

// listTokenKeys answers GET /token-keys: the keys that have not retired,
// never their private parts.
func (a *API) listTokenKeys(w http.ResponseWriter, r *http.Request, _ caller) error {
	return a.answerKeys(w, r, func(k *TokenKeys) func(context.Context) (any, error) { return k.List })
}

// rotateTokenKey answers POST /token-keys/rotate: a new key signs from now
// on, on every replica within seconds; the others verify until their last
// tokens have expired.
func (a *API) rotateTokenKey(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := a.answerKeys(w, r, func(k *TokenKeys) func(context.Context) (any, error) { return k.Rotate }); err != nil {
		return err
	}
	a.audit(r, c, "token-signing key rotated")
	return nil
}

// answerKeys runs the operation op picks and answers the key set it
// returns.
func (a *API) answerKeys(w http.ResponseWriter, r *http.Request, op func(*TokenKeys) func(context.Context) (any, error)) error {
	if a.cfg.TokenKeys == nil {
		return &errcode.Error{Code: errcode.AdminNotFound, Message: "this server signs no tokens"}
	}
	keys, err := op(a.cfg.TokenKeys)(r.Context())
	if err != nil {
		return keysError(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
	return nil
}
