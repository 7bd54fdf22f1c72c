package accounts

import (
	"context"
	"strings"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/password"
)

// The authenticator side of the account database: a user logs in with its
// password (bcrypt) or with one of its access tokens; a robot account with
// its tokens only. Accepted accounts carry their own labels, their teams as
// the groups label, the wharf.source marker and, for a token login, the
// token's id in wharf.token, which the Guard uses to apply the token's
// scopes. Changes made in another process (the CLI) are seen on the next
// login: Fresh wraps the token server's login cache and purges it whenever
// the identity generation changes.

// Authenticator checks passwords and access tokens against the database.
type Authenticator struct {
	live *Live
}

var _ authn.Confirmer = (*Authenticator)(nil)

// NewAuthenticator returns an authenticator over live.
func NewAuthenticator(live *Live) *Authenticator { return &Authenticator{live: live} }

// Authenticate implements authn.Authenticator.
//
// A password shaped like an access token (wharf_…) is checked as a token
// of that user: a constant-time comparison of hashes, and no bcrypt unless
// it is refused (then a dummy comparison, as for a wrong password). Any other
// password is compared with the user's bcrypt hash, or with a dummy hash
// for an unknown user, so that both take the same time. A known user with
// a wrong password or token, a disabled user and a robot given a password
// get WrongPassword (no later backend is asked for that name); an unknown
// user gets NoMatch. The anonymous user is never a database user.
func (a *Authenticator) Authenticate(ctx context.Context, user string, pw auth.Secret) (authn.Result, auth.Labels, error) {
	snap, err := a.live.Snapshot(ctx)
	if err != nil {
		return authn.WrongPassword, nil, err
	}
	if user == "" {
		return authn.NoMatch, nil, nil
	}
	acct, known := snap.Account(user)
	if _, isToken := TokenID(pw); isToken {
		t, ok := snap.CheckToken(user, pw, a.live.Now())
		if ok {
			a.live.TokenUsed(ctx, t.ID)
			return authn.Accepted, authn.WithStamp(acct.Labels(t.ID), tokenStamp(t.ID)), nil
		}
		// A refused token costs the bcrypt comparison a refused password
		// costs, here or in the backend before: otherwise token-shaped
		// guesses would tell names known to that backend from the others.
		if _, err := password.Verify(ctx, snap.Dummy(), pw); err != nil {
			return authn.WrongPassword, nil, err
		}
		if known {
			return authn.WrongPassword, nil, nil
		}
		return authn.NoMatch, nil, nil
	}
	if !known {
		if _, err := password.Verify(ctx, snap.Dummy(), pw); err != nil {
			return authn.WrongPassword, nil, err
		}
		return authn.NoMatch, nil, nil
	}
	ok, err := snap.CheckPassword(ctx, acct, pw)
	if err != nil || !ok || acct.Disabled {
		return authn.WrongPassword, nil, err
	}
	return authn.Accepted, authn.WithStamp(acct.Labels(""), acct.Stamp()), nil
}

// tokenStamp is the session stamp of a login with an access token: its id
// (public; the token's secret part never leaves the login).
func tokenStamp(id string) string { return "token:" + id }

// CanConfirm implements authn.Confirmer: every session can be confirmed.
func (a *Authenticator) CanConfirm(string) bool { return true }

// Confirm implements authn.Confirmer: the account still exists and is
// enabled, and the session's credential is still its own: the same password
// hash, or an access token that is neither revoked nor expired. (The
// authorizer checks the account again on every request; this ends the
// session itself.)
func (a *Authenticator) Confirm(ctx context.Context, user, stamp string) (authn.Result, auth.Labels, error) {
	snap, err := a.live.Snapshot(ctx)
	if err != nil {
		return authn.WrongPassword, nil, err
	}
	acct, ok := snap.Account(user)
	if !ok || acct.Disabled {
		return authn.WrongPassword, nil, nil
	}
	if id, isToken := strings.CutPrefix(stamp, "token:"); isToken {
		if t, ok := snap.Token(id); ok && t.User == user && t.Usable(a.live.Now()) {
			return authn.Accepted, acct.Labels(id), nil
		}
		return authn.WrongPassword, nil, nil
	}
	if !authn.SameStamp(acct.Stamp(), stamp) {
		return authn.WrongPassword, nil, nil
	}
	return authn.Accepted, acct.Labels(""), nil
}

// Name implements authn.Authenticator.
func (a *Authenticator) Name() string { return "database users" }

// Source is the name the chain records as the accounts' source.
func (a *Authenticator) Source() string { return SourceDatabase }

// Fresh wraps the login cache of the token server (in front of the whole
// authenticator chain): before each login it checks the identity
// generation, and the cache is purged whenever it changed, so a disabled,
// removed or re-passworded user is refused on its next request rather
// than when its cache entry expires. When the check fails (the database is
// unreachable) the cache is purged too: nothing cached outlives what the
// server can verify.
type Fresh struct {
	live  *Live
	cache *authn.Cache
}

var _ authn.Authenticator = (*Fresh)(nil)

// NewFresh returns cache wrapped; it registers the purge with live.
func NewFresh(live *Live, cache *authn.Cache) *Fresh {
	live.OnChange(cache.Purge)
	return &Fresh{live: live, cache: cache}
}

// Authenticate implements authn.Authenticator.
func (f *Fresh) Authenticate(ctx context.Context, user string, pw auth.Secret) (authn.Result, auth.Labels, error) {
	if _, err := f.live.Snapshot(ctx); err != nil {
		f.cache.Purge()
	}
	return f.cache.Authenticate(ctx, user, pw)
}

// Name implements authn.Authenticator.
func (f *Fresh) Name() string { return f.cache.Name() }
