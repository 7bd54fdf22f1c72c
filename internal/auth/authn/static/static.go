package static

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/password"
)

// User is one entry of the users map.
type User struct {
	// Password is a bcrypt hash. Only the anonymous user "" has none.
	Password auth.Secret `yaml:"password,omitempty"`
	Labels   auth.Labels `yaml:"labels,omitempty"`
}

// Authenticator checks passwords against a set of users fixed at start,
// but for the password of one that SetPassword changes while it runs (the
// built-in admin's).
type Authenticator struct {
	users atomic.Pointer[map[string]user] // replaced whole, never changed
	dummy []byte                          // nil: unknown users are answered at once (Options.SkipDummy)
}

// Options change how New's authenticator answers.
type Options struct {
	// SkipDummy answers NoMatch for an unknown user at once, without the
	// dummy bcrypt comparison. Set it only when a later backend of the
	// chain compares the password with a dummy hash itself (the database
	// users do): an unknown name then costs one bcrypt comparison, like a
	// known one, instead of two.
	SkipDummy bool
}

type user struct {
	hash   []byte // nil for the anonymous user
	labels auth.Labels
}

var _ authn.Confirmer = (*Authenticator)(nil)

// New checks every user and returns an Authenticator; errors name every bad
// user at once.
//
// Two differences from docker_auth, both refusing what it accepts: a
// password must be a bcrypt hash (docker_auth would compare a plain-text
// one as a hash and never match), and only the anonymous user "" may have
// no password (docker_auth admits a named user without one with any
// password at all).
func New(users map[string]User) (*Authenticator, error) {
	return NewWithOptions(users, Options{})
}

// NewWithOptions is New with options.
func NewWithOptions(users map[string]User, opts Options) (*Authenticator, error) {
	a := &Authenticator{}
	checked := make(map[string]user, len(users))
	var errs []error
	var hashes [][]byte
	for _, name := range sortedNames(users) {
		u := users[name]
		if err := checkUser(name, u); err != nil {
			errs = append(errs, err)
			continue
		}
		var hash []byte
		if u.Password != "" {
			hash = []byte(u.Password.Reveal())
			hashes = append(hashes, hash)
		}
		checked[name] = user{hash: hash, labels: authn.CloneLabels(u.Labels)}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	a.users.Store(&checked)
	if !opts.SkipDummy {
		a.dummy = password.DummyHash(password.TypicalCost(hashes))
	}
	return a, nil
}

func checkUser(name string, u User) error {
	switch {
	case name == "" && u.Password != "":
		return fmt.Errorf("static: the anonymous user \"\" has no password; remove it (clients without docker login send none)")
	case name == "":
		return nil
	case u.Password == "":
		return fmt.Errorf("static: user %q has no password; only the anonymous user \"\" may omit it; %s", name, password.HashHint)
	}
	if err := password.CheckHash(u.Password.Reveal()); err != nil {
		return fmt.Errorf("static: user %q: %w", name, err)
	}
	return nil
}

func sortedNames(users map[string]User) []string {
	names := make([]string, 0, len(users))
	for n := range users {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Authenticate implements authn.Authenticator. An unknown user is NoMatch,
// after the same bcrypt work as a wrong password. The anonymous user, when
// configured, is admitted whatever password is sent, as in docker_auth.
func (a *Authenticator) Authenticate(ctx context.Context, name string, pw auth.Secret) (authn.Result, auth.Labels, error) {
	u, ok := (*a.users.Load())[name]
	switch {
	case !ok && name == "":
		return authn.NoMatch, nil, nil // whether anonymous access exists is no secret
	case !ok:
		if a.dummy != nil {
			if _, err := password.Verify(ctx, a.dummy, pw); err != nil {
				return authn.WrongPassword, nil, err
			}
		}
		return authn.NoMatch, nil, nil
	case u.hash == nil:
		return authn.Accepted, authn.CloneLabels(u.labels), nil
	}
	ok, err := password.Verify(ctx, u.hash, pw)
	if err != nil || !ok {
		return authn.WrongPassword, nil, err
	}
	return authn.Accepted, authn.WithStamp(authn.CloneLabels(u.labels), authn.Stamp(u.hash)), nil
}

// CanConfirm implements authn.Confirmer: every session can be confirmed.
func (a *Authenticator) CanConfirm(string) bool { return true }

// Confirm implements authn.Confirmer: the user is still configured with the
// password hash whose stamp the session holds. A removed user, or one whose
// password changed in the configuration, is refused; so is the anonymous
// user, which has no sessions.
func (a *Authenticator) Confirm(_ context.Context, name, stamp string) (authn.Result, auth.Labels, error) {
	u, ok := (*a.users.Load())[name]
	if !ok || u.hash == nil || !authn.SameStamp(authn.Stamp(u.hash), stamp) {
		return authn.WrongPassword, nil, nil
	}
	return authn.Accepted, authn.CloneLabels(u.labels), nil
}

// SetPassword gives the existing user name a new bcrypt hash, for the
// logins that follow; the sessions opened with the old one no longer
// confirm. It reports whether the hash changed.
func (a *Authenticator) SetPassword(name string, hash auth.Secret) (bool, error) {
	if err := password.CheckHash(hash.Reveal()); err != nil {
		return false, fmt.Errorf("static: user %q: %w", name, err)
	}
	for {
		old := a.users.Load()
		u, ok := (*old)[name]
		switch {
		case !ok || name == "":
			return false, fmt.Errorf("static: no user %q", name)
		case string(u.hash) == hash.Reveal():
			return false, nil
		}
		next := make(map[string]user, len(*old))
		for k, v := range *old {
			next[k] = v
		}
		u.hash = []byte(hash.Reveal())
		next[name] = u
		if a.users.CompareAndSwap(old, &next) {
			return true, nil
		}
	}
}

// Name implements authn.Authenticator.
func (a *Authenticator) Name() string { return "static" }
