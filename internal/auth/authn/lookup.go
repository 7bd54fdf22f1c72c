package authn

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"wharf/internal/auth"
	"wharf/internal/auth/password"
)

// Record is what a user store holds for one user.
type Record struct {
	// Hash is the bcrypt hash of the password; empty only for the
	// anonymous user "".
	Hash   string
	Labels auth.Labels
}

// Finder looks one user up in a store (a MongoDB collection, an SQL
// table): found is false when the store has no such user; an error means
// the store could not answer.
type Finder func(ctx context.Context, user string) (rec Record, found bool, err error)

// LookupOptions change how a Lookup answers.
type LookupOptions struct {
	// NoAnonymous answers NoMatch for the anonymous user "" without asking
	// the store (docker_auth's xorm_auth never admits it).
	NoAnonymous bool
	// Log hears about records that cannot be used; nil discards.
	Log *slog.Logger
}

// Lookup is an Authenticator over a store queried at every login, for the
// database backends that keep users outside wharf (mongo_auth, xorm_auth).
// It holds the rules those backends share:
//
//   - an unknown user is NoMatch, after a bcrypt comparison with a dummy
//     hash at the cost the store's hashes use, so that response times do
//     not tell which names exist;
//   - a stored password that is not a bcrypt hash is an error naming the
//     user (never the value), which denies;
//   - a user without a password is admitted only if it is the anonymous
//     user "" (docker_auth would admit any password for it: wharf refuses);
//   - names with a NUL byte or that are not UTF-8 never reach the store.
type Lookup struct {
	name string
	find Finder
	opts LookupOptions
	log  *slog.Logger
	cost atomic.Int32 // of the hashes seen last, for the dummy comparison
}

var _ Confirmer = (*Lookup)(nil)

// NewLookup returns an authenticator named name (for logs) over find.
func NewLookup(name string, find Finder, opts LookupOptions) *Lookup {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Lookup{name: name, find: find, opts: opts, log: log.With("component", "authn", "backend", name)}
	l.cost.Store(int32(password.FallbackCost))
	return l
}

// NoteHash tells the Lookup the cost of a hash of the store (one sampled at
// start), so that the first unknown users already cost as much as known ones.
func (l *Lookup) NoteHash(hash string) {
	if c, ok := password.Cost([]byte(hash)); ok {
		l.cost.Store(int32(c))
	}
}

// Authenticate implements Authenticator.
func (l *Lookup) Authenticate(ctx context.Context, user string, pw auth.Secret) (Result, auth.Labels, error) {
	if user == "" && l.opts.NoAnonymous {
		return NoMatch, nil, nil
	}
	if strings.IndexByte(user, 0) >= 0 || !utf8.ValidString(user) {
		return l.dummy(ctx, pw, NoMatch)
	}
	rec, found, err := l.find(ctx, user)
	switch {
	case err != nil:
		return WrongPassword, nil, err
	case !found && user == "":
		return NoMatch, nil, nil // whether anonymous access exists is no secret
	case !found:
		return l.dummy(ctx, pw, NoMatch)
	case rec.Hash == "" && user == "":
		return Accepted, CloneLabels(rec.Labels), nil
	case rec.Hash == "":
		l.log.WarnContext(ctx, "user has no password; refusing it (only the anonymous user \"\" may have none)", "user", user)
		return l.dummy(ctx, pw, WrongPassword)
	}
	if err := password.CheckHash(rec.Hash); err != nil {
		return WrongPassword, nil, fmt.Errorf("user %q: %w", user, err)
	}
	l.NoteHash(rec.Hash)
	ok, err := password.Verify(ctx, []byte(rec.Hash), pw)
	if err != nil || !ok {
		return WrongPassword, nil, err
	}
	return Accepted, WithStamp(CloneLabels(rec.Labels).WithoutReserved(), Stamp([]byte(rec.Hash))), nil
}

// CanConfirm implements Confirmer: the store is asked for the user, without
// a password, at every refresh.
func (l *Lookup) CanConfirm(string) bool { return true }

// Confirm implements Confirmer: the store still holds the user, with the
// password hash whose stamp the session holds.
func (l *Lookup) Confirm(ctx context.Context, user, stamp string) (Result, auth.Labels, error) {
	if user == "" || strings.IndexByte(user, 0) >= 0 || !utf8.ValidString(user) {
		return WrongPassword, nil, nil
	}
	rec, found, err := l.find(ctx, user)
	switch {
	case err != nil:
		return WrongPassword, nil, err
	case !found || rec.Hash == "" || !SameStamp(Stamp([]byte(rec.Hash)), stamp):
		return WrongPassword, nil, nil
	}
	return Accepted, CloneLabels(rec.Labels).WithoutReserved(), nil
}

// dummy compares pw with a dummy hash, for the time a known user would
// cost, and answers res, or the error of a full password gate.
func (l *Lookup) dummy(ctx context.Context, pw auth.Secret, res Result) (Result, auth.Labels, error) {
	if _, err := password.Verify(ctx, password.DummyHash(int(l.cost.Load())), pw); err != nil {
		return WrongPassword, nil, err
	}
	return res, nil, nil
}

// Name implements Authenticator.
func (l *Lookup) Name() string { return l.name }
