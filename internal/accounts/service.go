package accounts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"wharf/internal/auth"
	"wharf/internal/auth/authz"
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
}

// Service is the set of account operations over a store.
type Service struct {
	store *metadata.Store
	opts  Options
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
func (s *Service) AddUser(ctx context.Context, u NewUser) error {
	if err := s.checkNewName(u.Name); err != nil {
		return err
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
func (s *Service) SetPassword(ctx context.Context, name string, password auth.Secret) error {
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
	return s.store.SetUserPassword(ctx, name, hash)
}

// SetDisabled disables or enables a user. A disabled user can neither log
// in nor use its tokens or refresh tokens.
func (s *Service) SetDisabled(ctx context.Context, name string, disabled bool) error {
	return s.store.SetUserDisabled(ctx, name, disabled)
}

// SetLabels replaces a user's own labels.
func (s *Service) SetLabels(ctx context.Context, name string, labels auth.Labels) error {
	if err := CheckLabels(labels); err != nil {
		return err
	}
	return s.store.SetUserLabels(ctx, name, labels)
}

// RemoveUser deletes a user, its memberships and tokens.
func (s *Service) RemoveUser(ctx context.Context, name string) error {
	return s.store.DeleteUser(ctx, name)
}

// AddTeam creates a team.
func (s *Service) AddTeam(ctx context.Context, name string) error {
	if err := CheckName("team", name); err != nil {
		return err
	}
	return s.store.CreateTeam(ctx, name)
}

// RemoveTeam deletes a team; its members stay.
func (s *Service) RemoveTeam(ctx context.Context, name string) error {
	return s.store.DeleteTeam(ctx, name)
}

// AddMember adds a user to a team.
func (s *Service) AddMember(ctx context.Context, team, user string) error {
	return s.store.AddTeamMember(ctx, team, user)
}

// RemoveMember removes a user from a team.
func (s *Service) RemoveMember(ctx context.Context, team, user string) error {
	return s.store.RemoveTeamMember(ctx, team, user)
}

// AddRule validates r and stores it at position (0: last).
func (s *Service) AddRule(ctx context.Context, r authz.Rule, position int) (metadata.ACLRule, error) {
	if err := CheckRule(r); err != nil {
		return metadata.ACLRule{}, err
	}
	if position < 0 {
		return metadata.ACLRule{}, fmt.Errorf("%w: position %d: positions start at 1", ErrInvalid, position)
	}
	return s.store.AddACLRule(ctx, ruleToStore(r), position)
}

// RemoveRule deletes the rule with the given id.
func (s *Service) RemoveRule(ctx context.Context, id int64) error {
	return s.store.DeleteACLRule(ctx, id)
}

// MoveRule moves a rule to position and returns where it ended up.
func (s *Service) MoveRule(ctx context.Context, id int64, position int) (int, error) {
	if position < 1 {
		return 0, fmt.Errorf("%w: position %d: positions start at 1", ErrInvalid, position)
	}
	return s.store.MoveACLRule(ctx, id, position)
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
func (s *Service) CreateToken(ctx context.Context, req NewToken) (auth.Secret, metadata.AccessToken, error) {
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
func (s *Service) RevokeToken(ctx context.Context, id string) (metadata.AccessToken, error) {
	return s.store.RevokeAccessToken(ctx, id, LabelToken)
}

// Tokens lists the tokens of user ("" for all users).
func (s *Service) Tokens(ctx context.Context, user string) ([]metadata.AccessToken, error) {
	return s.store.ListAccessTokens(ctx, user)
}
