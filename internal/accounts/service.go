package accounts

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"wharf/internal/auth"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/password"
	"wharf/internal/metadata"
)

// Options configure a Service.
type Options struct {
	// Cost is the bcrypt cost of new password hashes (0: DefaultCost).
	Cost int
	// Reserved names accounts defined elsewhere (the configuration's
	// users, the bootstrap admin): a database user of the same name would
	// never be asked, since those backends come first.
	Reserved func(name string) (where string, taken bool)
	Now      func() time.Time
	// Layers are the ACLs the token server asks before the database's
	// (the configuration's, or wharf serve's built-in default), Configured
	// the configuration's accounts with their labels (asked before the
	// database's), and TokenService the service rules may match. With
	// them the service decides as the token server would who may
	// administer (admins.go) and what a new token would be granted
	// (grants.go).
	Layers       []Layer
	Configured   map[string]auth.Labels
	TokenService string
	// Builtin names wharf serve's built-in admin ("" when there is none):
	// shown as such, and never removed, since the next start would create
	// it again.
	Builtin string
	// PasswordChanged, when set, runs after a user's password changed
	// (the built-in admin's generated first password is then stale).
	PasswordChanged func(name string) error
	// Changed, when set, is told of every change asked of the service,
	// made or refused (the audit log); the acting account travels in ctx.
	Changed func(ctx context.Context, c Change)
}

// Service is the set of account operations over a store.
type Service struct {
	store *metadata.Store
	opts  Options
	// checked, when set, runs between the last-admin check and its write
	// (tests of the race of two removals).
	checked func()
}

// NewService returns the operations over store.
func NewService(store *metadata.Store, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{store: store, opts: opts}
}

// Store is the underlying store, for reads the service does not wrap.
func (s *Service) Store() *metadata.Store { return s.store }

// NewUser describes an account to create.
type NewUser struct {
	Name string
	// Password is required for a person and must be empty for a robot.
	Password auth.Secret
	Robot    bool
	Labels   auth.Labels
}

// AddUser creates a user (a person with a password) or a robot account
// (no password; it logs in with access tokens).
func (s *Service) AddUser(ctx context.Context, u NewUser) (err error) {
	defer s.changed(ctx, "user.create", "user "+u.Name, &err)
	if err := s.checkNewName(u.Name); err != nil {
		return err
	}
	if s.IsBuiltin(u.Name) {
		return fmt.Errorf("%w: %s is wharf serve's built-in administrator, which it creates on first start (with WHARF_ADMIN_PASSWORD, or a generated password it writes to auth/admin.password); change its password with `wharf user passwd %s`", ErrRefused, u.Name, u.Name)
	}
	if err := CheckLabels(u.Labels); err != nil {
		return err
	}
	var hash string
	switch {
	case u.Robot && u.Password != "":
		return fmt.Errorf("%w: a robot account has no password; it logs in with tokens from `wharf token create --user %s`", ErrInvalid, u.Name)
	case !u.Robot:
		var err error
		if hash, err = HashPassword(u.Password, s.opts.Cost); err != nil {
			return err
		}
	}
	return s.store.CreateUser(ctx, metadata.User{Name: u.Name, PasswordHash: hash, Robot: u.Robot, Labels: u.Labels})
}

func (s *Service) checkNewName(name string) error {
	if err := CheckName("user", name); err != nil {
		return err
	}
	if s.opts.Reserved != nil {
		if where, taken := s.opts.Reserved(name); taken {
			return fmt.Errorf("%w: %q is already an account in %s, which is asked before the database; choose another name", ErrInvalid, name, where)
		}
	}
	return nil
}

// SetPassword replaces a user's password; the user's refresh tokens are
// revoked, so sessions opened with the old password end.
func (s *Service) SetPassword(ctx context.Context, name string, password auth.Secret) (err error) {
	defer s.changed(ctx, "user.passwd", "user "+name, &err)
	u, err := s.store.GetUser(ctx, name)
	if err != nil {
		return err
	}
	if u.Robot {
		return fmt.Errorf("%w: %s is a robot account, which has no password; create a token with `wharf token create --user %s`", ErrInvalid, name, name)
	}
	hash, err := HashPassword(password, s.opts.Cost)
	if err != nil {
		return err
	}
	if err := s.store.SetUserPassword(ctx, name, hash); err != nil {
		return err
	}
	if s.opts.PasswordChanged != nil {
		return s.opts.PasswordChanged(name)
	}
	return nil
}

// SetDisabled disables or enables a user. A disabled user can neither log
// in nor use its tokens or refresh tokens. Disabling the last account that
// may administer is refused (ErrRefused).
func (s *Service) SetDisabled(ctx context.Context, name string, disabled bool) (err error) {
	action := "user.enable"
	if disabled {
		action = "user.disable"
	}
	defer s.changed(ctx, action, "user "+name, &err)
	if !disabled {
		return s.store.SetUserDisabled(ctx, name, false)
	}
	return s.keepingAnAdmin(ctx, name, "disabling", func(ctx context.Context) error {
		return s.store.SetUserDisabled(ctx, name, true)
	})
}

// SetLabels replaces a user's own labels.
func (s *Service) SetLabels(ctx context.Context, name string, labels auth.Labels) (err error) {
	defer s.changed(ctx, "user.labels", "user "+name, &err)
	if err := CheckLabels(labels); err != nil {
		return err
	}
	return s.store.SetUserLabels(ctx, name, labels)
}

// RemoveUser deletes a user, its memberships and tokens. Removing the
// built-in admin, or the last account that may administer, is refused
// (ErrRefused).
func (s *Service) RemoveUser(ctx context.Context, name string) (err error) {
	defer s.changed(ctx, "user.remove", "user "+name, &err)
	if s.IsBuiltin(name) {
		return fmt.Errorf("%w: %s is wharf serve's built-in administrator, which the next start would create again; disable it instead (wharf user disable %s)", ErrRefused, name, name)
	}
	return s.keepingAnAdmin(ctx, name, "removing", func(ctx context.Context) error {
		return s.store.DeleteUser(ctx, name)
	})
}

// AddBuiltin creates the built-in admin (Options.Builtin) with pw, which
// the password rules apply to; AddUser refuses its name.
func (s *Service) AddBuiltin(ctx context.Context, pw auth.Secret) error {
	hash, err := HashPassword(pw, s.opts.Cost)
	if err != nil {
		return err
	}
	return s.AddBuiltinHash(ctx, []byte(hash))
}

// AddBuiltinHash creates the built-in admin with a bcrypt hash made
// elsewhere: the one moved from the file of earlier releases.
func (s *Service) AddBuiltinHash(ctx context.Context, hash []byte) (err error) {
	defer s.changed(ctx, "user.create", "user "+s.opts.Builtin, &err)
	if s.opts.Builtin == "" {
		return fmt.Errorf("%w: there is no built-in administrator here (the configuration's users: defines admin, or this is not wharf serve's configuration)", ErrInvalid)
	}
	if err := s.checkNewName(s.opts.Builtin); err != nil {
		return err
	}
	if err := password.CheckHash(string(hash)); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return s.store.CreateUser(ctx, metadata.User{Name: s.opts.Builtin, PasswordHash: string(hash)})
}

// View shows u as the admin API and `wharf user ls --json` do, marking the
// built-in admin.
func (s *Service) View(u metadata.User) UserView {
	v := ViewUser(u)
	v.Builtin = s.IsBuiltin(u.Name)
	return v
}

// IsBuiltin reports whether name is wharf serve's built-in admin.
func (s *Service) IsBuiltin(name string) bool { return name != "" && name == s.opts.Builtin }

// AddTeam creates a team.
func (s *Service) AddTeam(ctx context.Context, name string) (err error) {
	defer s.changed(ctx, "team.create", "team "+name, &err)
	if err := CheckName("team", name); err != nil {
		return err
	}
	return s.store.CreateTeam(ctx, name)
}

// RemoveTeam deletes a team; its members stay.
func (s *Service) RemoveTeam(ctx context.Context, name string) (err error) {
	defer s.changed(ctx, "team.remove", "team "+name, &err)
	return s.keepingAdministered(ctx, "removing team "+name,
		func(snap *Snapshot) (*Snapshot, error) { return snap.withoutTeam(name, ""), nil },
		func(ctx context.Context) error { return s.store.DeleteTeam(ctx, name) })
}

// AddMember adds a user to a team.
func (s *Service) AddMember(ctx context.Context, team, user string) (err error) {
	defer s.changed(ctx, "team.member.add", "team "+team+" user "+user, &err)
	return s.store.AddTeamMember(ctx, team, user)
}

// RemoveMember removes a user from a team.
func (s *Service) RemoveMember(ctx context.Context, team, user string) (err error) {
	defer s.changed(ctx, "team.member.remove", "team "+team+" user "+user, &err)
	return s.keepingAdministered(ctx, "removing "+user+" from team "+team,
		func(snap *Snapshot) (*Snapshot, error) { return snap.withoutTeam(team, user), nil },
		func(ctx context.Context) error { return s.store.RemoveTeamMember(ctx, team, user) })
}

// AddRule validates r and stores it at position (0: last).
func (s *Service) AddRule(ctx context.Context, r authz.Rule, position int) (stored metadata.ACLRule, err error) {
	defer func() { s.changed(ctx, "rule.add", "rule "+strconv.FormatInt(stored.ID, 10), &err) }()
	if err := CheckRule(r); err != nil {
		return metadata.ACLRule{}, err
	}
	if position < 0 {
		return metadata.ACLRule{}, fmt.Errorf("%w: position %d: positions start at 1", ErrInvalid, position)
	}
	where := "last"
	if position > 0 {
		where = "at position " + strconv.Itoa(position)
	}
	err = s.keepingAdministered(ctx, "adding this rule "+where,
		func(snap *Snapshot) (*Snapshot, error) { return snap.withRuleAt(ruleToStore(r), position) },
		func(ctx context.Context) (err error) {
			stored, err = s.store.AddACLRule(ctx, ruleToStore(r), position)
			return err
		})
	return stored, err
}

// RemoveRule deletes the rule with the given id.
func (s *Service) RemoveRule(ctx context.Context, id int64) (err error) {
	defer s.changed(ctx, "rule.remove", "rule "+strconv.FormatInt(id, 10), &err)
	return s.keepingAdministered(ctx, "removing rule "+strconv.FormatInt(id, 10),
		func(snap *Snapshot) (*Snapshot, error) { return snap.withoutRule(id) },
		func(ctx context.Context) error { return s.store.DeleteACLRule(ctx, id) })
}

// MoveRule moves a rule to position and returns where it ended up.
func (s *Service) MoveRule(ctx context.Context, id int64, position int) (_ int, err error) {
	defer s.changed(ctx, "rule.move", "rule "+strconv.FormatInt(id, 10), &err)
	if position < 1 {
		return 0, fmt.Errorf("%w: position %d: positions start at 1", ErrInvalid, position)
	}
	var at int
	err = s.keepingAdministered(ctx, "moving rule "+strconv.FormatInt(id, 10)+" to position "+strconv.Itoa(position),
		func(snap *Snapshot) (*Snapshot, error) { return snap.withRuleMoved(id, position) },
		func(ctx context.Context) (err error) {
			at, err = s.store.MoveACLRule(ctx, id, position)
			return err
		})
	return at, err
}

// NewToken describes an access token to create.
type NewToken struct {
	User        string
	Description string
	// Scopes restrict the bearer, see ParseScopes; at least one.
	Scopes []string
	// ExpiresAt is when the token stops working; zero: never.
	ExpiresAt time.Time
}

// CreateToken makes an access token for a user or robot and returns it:
// the only time the token is seen. Only its hash is stored.
func (s *Service) CreateToken(ctx context.Context, req NewToken) (_ auth.Secret, t metadata.AccessToken, err error) {
	defer func() { s.changed(ctx, "token.create", "user "+req.User+" token "+t.ID, &err) }()
	if _, err := ParseScopes(req.Scopes); err != nil {
		return "", metadata.AccessToken{}, err
	}
	if !req.ExpiresAt.IsZero() && !req.ExpiresAt.After(s.opts.Now()) {
		return "", metadata.AccessToken{}, fmt.Errorf("%w: the expiry %s is in the past", ErrInvalid, req.ExpiresAt.Format(time.RFC3339))
	}
	if len(req.Description) > 256 {
		return "", metadata.AccessToken{}, fmt.Errorf("%w: the description is longer than 256 bytes", ErrInvalid)
	}
	u, err := s.store.GetUser(ctx, req.User)
	if err != nil {
		return "", metadata.AccessToken{}, err
	}
	if u.Disabled {
		return "", metadata.AccessToken{}, fmt.Errorf("%w: %s is disabled; enable it first (wharf user enable %s)", ErrInvalid, u.Name, u.Name)
	}
	for range 3 { // an id collision among 2^60 is a curiosity, not an error
		id, tok := newToken()
		t := metadata.AccessToken{ID: id, User: req.User, Hash: HashToken(tok), Description: req.Description,
			Scopes: req.Scopes, CreatedAt: s.opts.Now(), ExpiresAt: req.ExpiresAt}
		err := s.store.CreateAccessToken(ctx, t)
		if errors.Is(err, metadata.ErrExists) {
			continue
		}
		if err != nil {
			return "", metadata.AccessToken{}, err
		}
		return tok, t, nil
	}
	return "", metadata.AccessToken{}, errors.New("accounts: could not pick an unused token id")
}

// RevokeToken revokes an access token and the sessions (refresh tokens)
// opened with it.
func (s *Service) RevokeToken(ctx context.Context, id string) (_ metadata.AccessToken, err error) {
	defer s.changed(ctx, "token.revoke", "token "+id, &err)
	var revoked metadata.AccessToken
	err = s.keepingAdministered(ctx, "revoking token "+id,
		func(snap *Snapshot) (*Snapshot, error) { return snap.withoutToken(id), nil },
		func(ctx context.Context) (err error) {
			revoked, err = s.store.RevokeAccessToken(ctx, id, LabelToken)
			return err
		})
	return revoked, err
}

// Tokens lists the tokens of user ("" for all users).
func (s *Service) Tokens(ctx context.Context, user string) ([]metadata.AccessToken, error) {
	return s.store.ListAccessTokens(ctx, user)
}

// ActiveTokens lists at most n (n <= 0: all) of the tokens of user ("" for
// all users) that still work, whose ids follow after, by id: a page of a
// listing, read a page at a time from the database.
func (s *Service) ActiveTokens(ctx context.Context, user, after string, n int) ([]metadata.AccessToken, error) {
	return s.store.ListActiveAccessTokens(ctx, user, after, n, s.opts.Now())
}

// PasswordHash returns a user's bcrypt hash (nil for a robot), for the
// built-in admin's start-up check of WHARF_ADMIN_PASSWORD; IsNotFound
// tells a missing user.
func (s *Service) PasswordHash(ctx context.Context, name string) ([]byte, error) {
	u, err := s.store.GetUser(ctx, name)
	if err != nil {
		return nil, err
	}
	if u.PasswordHash == "" {
		return nil, nil
	}
	return []byte(u.PasswordHash), nil
}

// IsNotFound reports whether err says a user, team, rule or token does
// not exist; IsExists whether it says one already does.
func IsNotFound(err error) bool { return errors.Is(err, metadata.ErrNotFound) }

// IsExists: see IsNotFound.
func IsExists(err error) bool { return errors.Is(err, metadata.ErrExists) }
