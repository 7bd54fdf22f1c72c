package accounts

import (
	"context"
	"fmt"
	"slices"
	"time"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/password"
	"wharf/internal/metadata"
)

// Snapshot is an immutable view of the account database at one generation.
type Snapshot struct {
	Generation int64
	accounts   map[string]*Account
	tokens     map[string]*Token
	rules      []metadata.ACLRule
	acl        *authz.ACL
	dummyCost  int
}

// Account is a database user as the authenticator sees it.
type Account struct {
	Name     string
	Robot    bool
	Disabled bool
	Teams    []string
	hash     []byte // nil for robots
	labels   auth.Labels
}

// Token is a stored access token as the authenticator sees it.
type Token struct {
	ID        string
	User      string
	Scopes    []string
	ExpiresAt time.Time // zero: never
	Revoked   bool
	hash      string
	scope     *authz.ACL
}

// Load reads a snapshot. The generation is read first: a change committed
// while the rest is read makes the generation newer than the snapshot's,
// so the next check loads again and nothing is missed.
func Load(ctx context.Context, store *metadata.Store, extraHashes [][]byte) (*Snapshot, error) {
	gen, err := store.IdentityGeneration(ctx)
	if err != nil {
		return nil, err
	}
	users, err := store.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	tokens, err := store.ListAccessTokens(ctx, "")
	if err != nil {
		return nil, err
	}
	rules, err := store.ListACLRules(ctx)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{Generation: gen, accounts: make(map[string]*Account, len(users)), tokens: make(map[string]*Token, len(tokens)), rules: rules}
	hashes := slices.Clone(extraHashes)
	for _, u := range users {
		a := &Account{Name: u.Name, Robot: u.Robot, Disabled: u.Disabled, Teams: u.Teams, labels: accountLabels(u)}
		if !u.Robot && u.PasswordHash != "" {
			a.hash = []byte(u.PasswordHash)
			hashes = append(hashes, a.hash)
		}
		s.accounts[u.Name] = a
	}
	s.dummyCost = password.TypicalCost(hashes)
	for _, t := range tokens {
		tok := &Token{ID: t.ID, User: t.User, Scopes: t.Scopes, ExpiresAt: t.ExpiresAt, Revoked: !t.RevokedAt.IsZero(), hash: t.Hash}
		if tok.scope, err = ParseScopes(t.Scopes); err != nil {
			// A token whose scopes no longer parse grants nothing.
			tok.Revoked = true
		}
		s.tokens[t.ID] = tok
	}
	if s.acl, _, err = compileRules(rules); err != nil {
		return nil, err
	}
	return s, nil
}

// accountLabels are the labels a database account carries: its own, its
// teams as groups, and the source marker.
func accountLabels(u metadata.User) auth.Labels {
	l := authn.CloneLabels(u.Labels)
	if l == nil {
		l = auth.Labels{}
	}
	delete(l, LabelToken) // reserved; never from storage
	l[LabelGroups] = slices.Clone(u.Teams)
	if len(u.Teams) == 0 {
		delete(l, LabelGroups)
	}
	l[LabelSource] = []string{SourceDatabase}
	return l
}

// Account returns a database user.
func (s *Snapshot) Account(name string) (*Account, bool) {
	a, ok := s.accounts[name]
	return a, ok
}

// Labels returns a copy of the account's labels, with the token's id when
// it logged in with one.
func (a *Account) Labels(tokenID string) auth.Labels {
	l := authn.CloneLabels(a.labels)
	if tokenID != "" {
		l[LabelToken] = []string{tokenID}
	}
	return l
}

// CheckPassword compares pw with the account's bcrypt hash in constant
// time. A robot has no password: the comparison is made against a dummy
// hash, for the same timing, and fails.
func (s *Snapshot) CheckPassword(ctx context.Context, a *Account, pw auth.Secret) (bool, error) {
	hash := a.hash
	if hash == nil {
		hash = s.Dummy()
	}
	ok, err := password.Verify(ctx, hash, pw)
	return err == nil && ok && a.hash != nil, err
}

// Stamp is the session stamp of the account's password (authn.Stamp of its
// hash); "" for a robot, which has none.
func (a *Account) Stamp() string {
	if a.hash == nil {
		return ""
	}
	return authn.Stamp(a.hash)
}

// Token returns a stored access token by id.
func (s *Snapshot) Token(id string) (*Token, bool) {
	t, ok := s.tokens[id]
	return t, ok
}

// Dummy is the hash an unknown user's password is compared with.
func (s *Snapshot) Dummy() []byte { return password.DummyHash(s.dummyCost) }

// CheckToken verifies an access token presented by user at now: it must
// exist, match in constant time, belong to user, be neither revoked nor
// expired, and its user must be enabled. It returns the token's id.
func (s *Snapshot) CheckToken(user string, token auth.Secret, now time.Time) (*Token, bool) {
	id, ok := TokenID(token)
	if !ok {
		return nil, false
	}
	t, ok := s.tokens[id]
	if !ok {
		return nil, false
	}
	if !tokenMatches(token, t.hash) || t.User != user || !t.Usable(now) {
		return nil, false
	}
	if a, ok := s.accounts[user]; !ok || a.Disabled {
		return nil, false
	}
	return t, true
}

// Usable reports whether the token is neither revoked nor expired at now.
func (t *Token) Usable(now time.Time) bool {
	return !t.Revoked && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}

// ACL is the compiled database ACL, in position order.
func (s *Snapshot) ACL() *authz.ACL { return s.acl }

// Rules are the stored rules, in position order (index i is the ACL's
// rule i).
func (s *Snapshot) Rules() []metadata.ACLRule { return s.rules }

// Resolved is an identity as the database sees it now.
type Resolved struct {
	Identity auth.Identity
	// Denied, when not empty, says why the identity may do nothing at
	// all (a disabled or removed account, a revoked or expired token).
	Denied string
	// Token restricts what the identity is granted, when it logged in
	// with an access token.
	Token *Token
}

// Resolve brings an identity authenticated from the database up to date:
// its current labels and teams (not those captured when it logged in,
// perhaps months ago with a refresh token), whether it is still enabled,
// and the token it used. Identities from other backends pass unchanged,
// except that a token label still restricts them.
func (s *Snapshot) Resolve(id auth.Identity, now time.Time) Resolved {
	tokenID := first(id.Labels[LabelToken])
	fromDB := slices.Contains(id.Labels[LabelSource], SourceDatabase)
	r := Resolved{Identity: id}
	if fromDB {
		a, ok := s.accounts[id.Account]
		switch {
		case !ok:
			r.Denied = fmt.Sprintf("account %q no longer exists", id.Account)
			return r
		case a.Disabled:
			r.Denied = fmt.Sprintf("account %q is disabled", id.Account)
			return r
		}
		r.Identity = auth.Identity{Account: id.Account, Labels: a.Labels(tokenID)}
	}
	if len(id.Labels[LabelToken]) > 0 {
		t, ok := s.tokens[tokenID]
		switch {
		case !ok || len(id.Labels[LabelToken]) != 1:
			r.Denied = fmt.Sprintf("access token %s no longer exists", tokenID)
		case t.User != id.Account:
			r.Denied = fmt.Sprintf("access token %s belongs to %q", tokenID, t.User)
		case t.Revoked:
			r.Denied = fmt.Sprintf("access token %s is revoked", tokenID)
		case !t.Usable(now):
			r.Denied = fmt.Sprintf("access token %s expired at %s", tokenID, t.ExpiresAt.Format(time.RFC3339))
		}
		r.Token = t
	}
	return r
}

// Restrict returns the actions of allowed that the token's scopes also
// allow for req, and the index of the scope that decided (-1: none).
func (t *Token) Restrict(req auth.Request, allowed []string) ([]string, int, error) {
	req.Access.Actions = allowed
	i, _, kept, err := t.scope.Explain(req)
	if err != nil {
		return nil, -1, err
	}
	if kept == nil {
		kept = []string{}
	}
	return kept, i, nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
