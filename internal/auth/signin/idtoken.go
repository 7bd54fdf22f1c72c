package signin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
)

// IDTokenConfig configures ID tokens as docker login passwords.
type IDTokenConfig struct {
	Issuer string
	// Audiences: the token's aud must hold one of them.
	Audiences []string
	// UserClaim must equal the docker login user name.
	UserClaim string
	// Labels maps a label name to the claim its values come from.
	Labels     map[string]string
	HTTPClient *http.Client
}

// IDTokenAuthenticator accepts an ID token of the configured issuer as the
// password of the user its UserClaim names (CI systems with workload
// identity), and hands every other password to Next (the sign-in
// passwords). The token's signature (keys from the issuer's JWKS), iss,
// aud and exp are verified; there is no nonce to check in a token nobody
// asked for interactively.
type IDTokenAuthenticator struct {
	next authn.Authenticator // may be nil
	c    *IDTokenConfig      // nil: no ID tokens
	log  *slog.Logger

	mu       sync.Mutex
	verifier *gooidc.IDTokenVerifier
}

var _ authn.Confirmer = (*IDTokenAuthenticator)(nil)

// NewIDTokenAuthenticator returns the authenticator; id may be nil (then it is
// next alone), next may be nil (then only ID tokens are accepted).
func NewIDTokenAuthenticator(next authn.Authenticator, id *IDTokenConfig, log *slog.Logger) (*IDTokenAuthenticator, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if id != nil && (id.Issuer == "" || len(id.Audiences) == 0 || id.UserClaim == "" || id.HTTPClient == nil) {
		return nil, errors.New("signin: ID tokens need an issuer, audiences, a user claim and an HTTP client")
	}
	if next == nil && id == nil {
		return nil, errors.New("signin: nothing to authenticate with")
	}
	return &IDTokenAuthenticator{next: next, c: id, log: log.With("component", "authn", "backend", "oidc")}, nil
}

// Name implements authn.Authenticator.
func (a *IDTokenAuthenticator) Name() string { return "oidc" }

// maxTokenLen bounds a password taken for an ID token.
const maxTokenLen = 16 << 10

// Authenticate implements authn.Authenticator.
func (a *IDTokenAuthenticator) Authenticate(ctx context.Context, user string, password auth.Secret) (authn.Result, auth.Labels, error) {
	if a.c != nil && user != "" && issuerOf(password.Reveal()) == a.c.Issuer {
		return a.idToken(ctx, user, password)
	}
	if a.next == nil {
		return authn.NoMatch, nil, nil
	}
	return a.next.Authenticate(ctx, user, password)
}

// issuerOf peeks, without verifying anything, at the iss of what looks
// like a JWT; "" otherwise. Only used to choose the path; the verifier
// decides.
func issuerOf(s string) string {
	if len(s) > maxTokenLen || strings.Count(s, ".") != 2 || !strings.HasPrefix(s, "eyJ") {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(s, ".")[1])
	if err != nil {
		return ""
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return ""
	}
	return c.Iss
}

func (a *IDTokenAuthenticator) tokenVerifier(ctx context.Context) (*gooidc.IDTokenVerifier, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.verifier != nil {
		return a.verifier, nil
	}
	cctx := gooidc.ClientContext(ctx, a.c.HTTPClient)
	pr, err := gooidc.NewProvider(cctx, a.c.Issuer)
	if err != nil {
		return nil, fmt.Errorf("signin: discovery of %s: %w", a.c.Issuer, err)
	}
	// The key set outlives this request: it refetches keys when a token
	// names an unknown kid, with the client that has the timeout.
	a.verifier = pr.VerifierContext(gooidc.ClientContext(context.Background(), a.c.HTTPClient), &gooidc.Config{SkipClientIDCheck: true})
	return a.verifier, nil
}

func (a *IDTokenAuthenticator) idToken(ctx context.Context, user string, password auth.Secret) (authn.Result, auth.Labels, error) {
	v, err := a.tokenVerifier(ctx)
	if err != nil {
		return authn.WrongPassword, nil, err
	}
	idt, err := v.Verify(gooidc.ClientContext(ctx, a.c.HTTPClient), password.Reveal())
	if err != nil {
		a.log.InfoContext(ctx, "ID token rejected", "user", user, "reason", err.Error())
		return authn.WrongPassword, nil, nil
	}
	if !slices.ContainsFunc(idt.Audience, func(aud string) bool { return slices.Contains(a.c.Audiences, aud) }) {
		a.log.InfoContext(ctx, "ID token rejected: not issued for this registry", "user", user, "aud", idt.Audience, "want", a.c.Audiences)
		return authn.WrongPassword, nil, nil
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return authn.WrongPassword, nil, fmt.Errorf("signin: ID token claims: %w", err)
	}
	account, err := accountFrom(claims, a.c.UserClaim)
	if err != nil || account != user {
		a.log.InfoContext(ctx, "ID token rejected: it names another account", "user", user, "claim", a.c.UserClaim, "token_account", account)
		return authn.WrongPassword, nil, nil
	}
	a.log.InfoContext(ctx, "ID token accepted", "user", user, "expires", idt.Expiry.UTC())
	return authn.Accepted, authn.WithStamp(labelsFrom(claims, a.c.Labels).WithoutReserved(), idTokenStamp), nil
}

// idTokenStamp marks the sessions opened with an ID token: nothing can be
// asked about them later (the token was the credential), so they get the
// shorter lifetime of sessions that cannot be confirmed.
const idTokenStamp = "id_token"

// CanConfirm implements authn.Confirmer: sign-in sessions can be confirmed
// (by the sign-in backend), ID-token sessions cannot.
func (a *IDTokenAuthenticator) CanConfirm(stamp string) bool {
	next, ok := a.next.(authn.Confirmer)
	return stamp != idTokenStamp && ok && next.CanConfirm(stamp)
}

// Confirm implements authn.Confirmer for the sign-in sessions.
func (a *IDTokenAuthenticator) Confirm(ctx context.Context, user, stamp string) (authn.Result, auth.Labels, error) {
	if !a.CanConfirm(stamp) {
		return authn.WrongPassword, nil, authn.ErrUnconfirmable
	}
	return a.next.(authn.Confirmer).Confirm(ctx, user, stamp)
}
