package ociapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"wharf/internal/auth"
	"wharf/internal/auth/token"
	"wharf/internal/edge"
	"wharf/internal/errcode"
)

// TokenAuth authorizes requests with bearer tokens of the Docker token
// protocol and answers the others with a challenge naming the realm, the
// service and the scope to ask for.
type TokenAuth struct {
	Verifier token.Verifying
	// Realm returns the token endpoint's URL for a request; in the
	// all-in-one server it follows the request's own host.
	Realm   func(r *http.Request) string
	Service string
	Log     *slog.Logger
}

var _ Authorizer = (*TokenAuth)(nil)

// Authorize implements Authorizer.
func (a *TokenAuth) Authorize(r *http.Request, need []auth.Access) (string, error) {
	raw, ok := bearer(r)
	if !ok {
		return "", a.challenge(r, need, "", "authentication required")
	}
	claims, err := a.Verifier.Verify(raw)
	if err != nil {
		// The reason (issuer or audience mismatch, unknown key) is what an
		// operator needs to fix a misconfiguration: a warning. An expired
		// token is routine (every client past its token's lifetime gets a
		// new one this way), so it is only information.
		level, msg := slog.LevelWarn, "invalid token"
		if errors.Is(err, token.ErrExpired) {
			level, msg = slog.LevelInfo, "token expired"
		}
		a.Log.Log(r.Context(), level, "token rejected", "reason", err.Error(), "remote", r.RemoteAddr, "path", r.URL.Path)
		return "", a.challenge(r, need, "invalid_token", msg)
	}
	for _, n := range need {
		for _, act := range n.Actions {
			if !claims.Allows(n.Type, n.Name, act) {
				a.Log.InfoContext(r.Context(), "access denied", "account", claims.Subject, "need", n.String(), "path", r.URL.Path)
				return "", a.challenge(r, need, "insufficient_scope", "requested access to the resource is denied")
			}
		}
	}
	return claims.Subject, nil
}

func (a *TokenAuth) challenge(r *http.Request, need []auth.Access, errCode, msg string) error {
	var b strings.Builder
	fmt.Fprintf(&b, `Bearer realm=%q,service=%q`, a.Realm(r), a.Service)
	if len(need) > 0 {
		scopes := make([]string, len(need))
		for i, n := range need {
			scopes[i] = n.String()
		}
		fmt.Fprintf(&b, `,scope=%q`, strings.Join(scopes, " "))
	}
	if errCode != "" {
		fmt.Fprintf(&b, `,error=%q`, errCode)
	}
	return &AuthError{Code: errcode.Unauthorized, Challenge: b.String(), Message: msg, Need: need}
}

// bearer extracts a bearer token from the Authorization header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, raw, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > token.MaxTokenSize {
		return "", false
	}
	return raw, true
}

// RealmFromRequest returns a Realm function for a token endpoint served by
// this same server at path: the scheme and host the client used (edge.PublicOf:
// behind a trusted reverse proxy, the proxy's public ones), so the
// challenge works for whatever name the client used.
func RealmFromRequest(path string) func(r *http.Request) string {
	return RealmOnPort("", path)
}

// RealmOnPort is RealmFromRequest for a token endpoint on another port of
// the same host (the classic layout: registry on :5000, tokens on :5001);
// an empty port means the request's own.
func RealmOnPort(port, path string) func(r *http.Request) string {
	return func(r *http.Request) string {
		p := edge.PublicOf(r)
		host := p.Host
		if port != "" {
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			host = net.JoinHostPort(strings.Trim(host, "[]"), port)
		}
		return p.Scheme + "://" + host + path
	}
}
