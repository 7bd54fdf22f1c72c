package signin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
)

// Sentinels a Provider returns.
var (
	// ErrRevoked: the provider says the user may no longer sign in (the
	// token was revoked, the account disabled, the membership ended). The
	// registry password is deleted.
	ErrRevoked = errors.New("signin: the provider no longer accepts this user")
	// ErrDenied: the user signed in at the provider but is not admitted
	// (outside the organization or domain, an unverified e-mail).
	ErrDenied = errors.New("signin: user not admitted")
)

// SignIn is a user the provider vouched for.
type SignIn struct {
	Account string
	Labels  auth.Labels
	Token   Token
}

// Provider is one identity provider's side of the sign-in.
type Provider interface {
	// Name is the short name used in paths, the store and logs: oidc,
	// github, gitlab, google.
	Name() string
	// Title is the provider's name for people: "GitHub".
	Title() string
	// AuthCodeURL is where the browser is sent to sign in. redirectURL is
	// "" when the provider should use the callback registered with it.
	AuthCodeURL(ctx context.Context, a Attempt) (string, error)
	// Exchange turns the authorization code into a signed-in user, checking
	// the nonce where the provider issues ID tokens. ErrDenied (wrapped)
	// means the user is not admitted.
	Exchange(ctx context.Context, a Attempt, code string) (SignIn, error)
	// Revalidate asks the provider whether account is still admitted, with
	// the token kept from its sign-in, and returns fresh labels and token.
	// ErrRevoked (wrapped) is a definite no; other errors mean the provider
	// could not answer.
	Revalidate(ctx context.Context, account string, tok Token) (SignIn, error)
}

// Attempt is one sign-in in progress: what binds the browser's return to
// its start.
type Attempt struct {
	State       string
	Nonce       string
	Verifier    string // PKCE code verifier; its S256 challenge goes to the provider
	RedirectURL string
	// UI marks a sign-in to the web interface: it opens a session there
	// (LoginConfig.UISession) instead of issuing a registry password.
	// Next is the interface's page to return to, checked by the interface.
	UI   bool   `json:",omitempty"`
	Next string `json:",omitempty"`
}

// passwordBytes is the entropy of a generated registry password.
const passwordBytes = 32

// passwordPrefix marks Wharf's generated passwords (and makes them easy
// to find with secret scanners); the backend's name follows, so that each
// backend knows the passwords of the others.
const passwordPrefix = "wharf_"

// NewPassword returns a registry password for backend (256 random bits,
// wharf_<backend>_<base64url>) and its hash.
func NewPassword(backend string) (auth.Secret, [sha256.Size]byte, error) {
	var b [passwordBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", [sha256.Size]byte{}, fmt.Errorf("signin: password: %w", err)
	}
	pw := passwordPrefix + backend + "_" + base64.RawURLEncoding.EncodeToString(b[:])
	return auth.Secret(pw), sha256.Sum256([]byte(pw)), nil
}

// maxAccountLen bounds account names from providers.
const maxAccountLen = 256

// CheckAccount refuses account names that could not be typed at docker
// login or that could confuse logs and ACL patterns.
func CheckAccount(name string) error {
	switch {
	case name == "":
		return errors.New("the provider gave no account name")
	case len(name) > maxAccountLen:
		return fmt.Errorf("the account name is longer than %d bytes", maxAccountLen)
	case !utf8.ValidString(name):
		return errors.New("the account name is not valid UTF-8")
	case strings.ContainsRune(name, ':'):
		return fmt.Errorf("the account name %q contains ':', which docker login cannot send", name)
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0:
		return fmt.Errorf("the account name %q contains spaces or control characters", name)
	}
	return nil
}

// Authenticator accepts the registry passwords the sign-in pages handed
// out, re-validating their users with the provider every RevalidateAfter.
type Authenticator struct {
	provider        Provider
	store           Store
	revalidateAfter time.Duration
	timeout         time.Duration
	log             *slog.Logger
	now             func() time.Time
	// mu serialises re-validations: providers rotate refresh tokens, so two
	// concurrent refreshes with one token would lose the user's sign-in.
	mu sync.Mutex
}

var _ authn.Confirmer = (*Authenticator)(nil)

// AuthenticatorConfig is what NewAuthenticator needs.
type AuthenticatorConfig struct {
	Provider        Provider
	Store           Store
	RevalidateAfter time.Duration
	// Timeout bounds one re-validation with the provider.
	Timeout time.Duration
	Log     *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// NewAuthenticator returns the authenticator of a provider's sign-ins.
func NewAuthenticator(c AuthenticatorConfig) (*Authenticator, error) {
	if c.Provider == nil || c.Store == nil {
		return nil, errors.New("signin: authenticator needs a provider and a store")
	}
	if c.RevalidateAfter <= 0 || c.Timeout <= 0 {
		return nil, errors.New("signin: revalidate_after and the timeout must be positive")
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Authenticator{provider: c.Provider, store: c.Store, revalidateAfter: c.RevalidateAfter, timeout: c.Timeout,
		log: c.Log.With("component", "authn", "backend", c.Provider.Name()), now: c.Now}, nil
}

// Name implements authn.Authenticator.
func (a *Authenticator) Name() string { return a.provider.Name() }

// Authenticate implements authn.Authenticator: NoMatch for an account that
// never signed in here, WrongPassword for a wrong or expired password or a
// user the provider no longer admits, an error when the provider cannot be
// asked.
func (a *Authenticator) Authenticate(ctx context.Context, user string, password auth.Secret) (authn.Result, auth.Labels, error) {
	if user == "" {
		return authn.NoMatch, nil, nil
	}
	// Another sign-in backend's password: the same account may have
	// signed in with both (one e-mail address at Google and at the OpenID
	// provider), and this one must not answer "wrong password" for the
	// other's.
	if pw := password.Reveal(); strings.HasPrefix(pw, passwordPrefix) && !strings.HasPrefix(pw, passwordPrefix+a.provider.Name()+"_") {
		return authn.NoMatch, nil, nil
	}
	rec, err := a.store.Get(ctx, a.provider.Name(), user)
	if errors.Is(err, ErrNotFound) {
		return authn.NoMatch, nil, nil
	}
	if err != nil {
		return authn.WrongPassword, nil, err
	}
	sum := sha256.Sum256([]byte(password.Reveal()))
	if subtle.ConstantTimeCompare(sum[:], rec.PasswordHash[:]) != 1 {
		return authn.WrongPassword, nil, nil
	}
	return a.admit(ctx, rec, sum)
}

// admit answers for a sign-in whose password (hash) was presented or
// stamped: refused once the password expired, accepted with the labels
// kept while they are fresh, re-validated with the provider after
// revalidate_after. An accepted answer carries the password's stamp.
func (a *Authenticator) admit(ctx context.Context, rec Record, hash [sha256.Size]byte) (authn.Result, auth.Labels, error) {
	now := a.now()
	if !now.Before(rec.ExpiresAt) {
		a.log.InfoContext(ctx, "registry password expired; sign in again", "user", rec.Account, "expired", rec.ExpiresAt.UTC())
		return authn.WrongPassword, nil, nil
	}
	if now.Before(rec.RevalidateAt) {
		return accepted(rec, hash)
	}
	return a.revalidate(ctx, rec.Account, hash)
}

// accepted is the answer for the sign-in rec, presented with the password
// of hash: its labels (none of Wharf's reserved ones, whatever the provider
// said) and the password's stamp.
func accepted(rec Record, hash [sha256.Size]byte) (authn.Result, auth.Labels, error) {
	return authn.Accepted, authn.WithStamp(authn.CloneLabels(rec.Labels).WithoutReserved(), authn.Stamp(hash[:])), nil
}

// CanConfirm implements authn.Confirmer: every session can be confirmed.
func (a *Authenticator) CanConfirm(string) bool { return true }

// Confirm implements authn.Confirmer: the sign-in still holds the registry
// password the session was opened with (a new sign-in replaces it, a
// revoked one deletes it), the password has not expired, and the user is
// re-validated with the provider once revalidate_after has passed, as a
// login would be.
func (a *Authenticator) Confirm(ctx context.Context, user, stamp string) (authn.Result, auth.Labels, error) {
	if user == "" {
		return authn.WrongPassword, nil, nil
	}
	rec, err := a.store.Get(ctx, a.provider.Name(), user)
	switch {
	case errors.Is(err, ErrNotFound):
		return authn.WrongPassword, nil, nil
	case err != nil:
		return authn.WrongPassword, nil, err
	case !authn.SameStamp(authn.Stamp(rec.PasswordHash[:]), stamp):
		return authn.WrongPassword, nil, nil
	}
	res, labels, err := a.admit(ctx, rec, rec.PasswordHash)
	authn.TakeStamp(labels)
	return res, labels, err
}

func (a *Authenticator) revalidate(ctx context.Context, user string, hash [sha256.Size]byte) (authn.Result, auth.Labels, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	// Read again under the lock: another login may have done it already,
	// or a new sign-in replaced the password.
	rec, err := a.store.Get(ctx, a.provider.Name(), user)
	switch {
	case errors.Is(err, ErrNotFound):
		return authn.WrongPassword, nil, nil
	case err != nil:
		return authn.WrongPassword, nil, err
	case subtle.ConstantTimeCompare(hash[:], rec.PasswordHash[:]) != 1:
		return authn.WrongPassword, nil, nil
	case a.now().Before(rec.RevalidateAt):
		return accepted(rec, hash)
	}
	rctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	s, err := a.provider.Revalidate(rctx, user, rec.Token)
	if err == nil && s.Account != user {
		err = fmt.Errorf("%w: the provider's token now names %q", ErrRevoked, s.Account)
	}
	if errors.Is(err, ErrRevoked) || errors.Is(err, ErrDenied) {
		a.log.WarnContext(ctx, "the provider no longer admits the user; registry password revoked", "user", user, "reason", err.Error())
		if derr := a.store.Delete(ctx, a.provider.Name(), user, hash); derr != nil {
			a.log.ErrorContext(ctx, "could not delete a revoked registry password", "user", user, "err", derr)
		}
		return authn.WrongPassword, nil, nil
	}
	if err != nil {
		return authn.WrongPassword, nil, fmt.Errorf("re-validating %q with %s: %w", user, a.provider.Title(), err)
	}
	rec.Labels, rec.Token, rec.RevalidateAt = s.Labels, s.Token, a.now().Add(a.revalidateAfter)
	if rec.Token.AccessToken == "" {
		return authn.WrongPassword, nil, fmt.Errorf("re-validating %q: the provider returned no token", user)
	}
	if _, err := a.store.Update(ctx, rec); err != nil {
		return authn.WrongPassword, nil, err
	}
	a.log.InfoContext(ctx, "re-validated the user with the provider", "user", user, "next", rec.RevalidateAt.UTC())
	return accepted(rec, hash)
}
