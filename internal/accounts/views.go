package accounts

import (
	"time"

	"wharf/internal/metadata"
)

// The views are how users, teams, access tokens and sessions are shown, the same
// in the admin API's JSON and in `wharf user|team|token|session ls --json`: never
// a password hash, a token or a refresh token; times in UTC; empty lists
// and maps as [] and {}, not null.

// UserView is a user or robot account as shown.
type UserView struct {
	Name  string `json:"name"`
	Robot bool   `json:"robot"`
	// Builtin marks wharf serve's built-in admin, created on first start.
	Builtin   bool                `json:"builtin"`
	Disabled  bool                `json:"disabled"`
	Teams     []string            `json:"teams"`
	Labels    map[string][]string `json:"labels"`
	CreatedAt time.Time           `json:"created_at"`
	UpdatedAt time.Time           `json:"updated_at"`
}

// ViewUser shows u.
func ViewUser(u metadata.User) UserView {
	labels := u.Labels
	if labels == nil {
		labels = map[string][]string{}
	}
	return UserView{Name: u.Name, Robot: u.Robot, Disabled: u.Disabled, Teams: nonNil(u.Teams), Labels: labels,
		CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()}
}

// TeamView is a team as shown.
type TeamView struct {
	Name      string    `json:"name"`
	Members   []string  `json:"members"`
	CreatedAt time.Time `json:"created_at"`
}

// ViewTeam shows t.
func ViewTeam(t metadata.Team) TeamView {
	return TeamView{Name: t.Name, Members: nonNil(t.Members), CreatedAt: t.CreatedAt.UTC()}
}

// TokenView is an access token as shown: never the token itself, except
// in the answer that creates it.
type TokenView struct {
	ID string `json:"id"`
	// Token is set only where the token is created: it is shown once.
	Token       string     `json:"token,omitempty"`
	User        string     `json:"user"`
	Description string     `json:"description"`
	Scopes      []string   `json:"scopes"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at"`
	LastUsed    *time.Time `json:"last_used_at"`
	RevokedAt   *time.Time `json:"revoked_at"`
	// State is active, expired or revoked (at now).
	State string `json:"state"`
}

// CreatedTokenView is the answer that creates a token: the token, shown
// this once, and the warnings about the scopes the ACL does not grant its
// user, which the token cannot use either (Shortfall; [] for none).
type CreatedTokenView struct {
	TokenView
	Warnings []string `json:"warnings"`
}

// Token states.
const (
	TokenActive  = "active"
	TokenExpired = "expired"
	TokenRevoked = "revoked"
)

// ViewToken shows t as it stands at now.
func ViewToken(t metadata.AccessToken, now time.Time) TokenView {
	opt := func(v time.Time) *time.Time {
		if v.IsZero() {
			return nil
		}
		v = v.UTC()
		return &v
	}
	state := TokenActive
	switch {
	case !t.RevokedAt.IsZero():
		state = TokenRevoked
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		state = TokenExpired
	}
	return TokenView{ID: t.ID, User: t.User, Description: t.Description, Scopes: nonNil(t.Scopes), CreatedAt: t.CreatedAt.UTC(),
		ExpiresAt: opt(t.ExpiresAt), LastUsed: opt(t.LastUsed), RevokedAt: opt(t.RevokedAt), State: state}
}

// SessionView is a docker login session (a refresh token) as shown: never
// the token.
type SessionView struct {
	ID        string    `json:"id"`
	User      string    `json:"user"`
	Source    string    `json:"source"`
	Client    string    `json:"client"`
	CreatedAt time.Time `json:"created_at"`
	LastUsed  time.Time `json:"last_used_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ViewSession shows rt.
func ViewSession(rt metadata.RefreshToken) SessionView {
	return SessionView{ID: rt.ID, User: rt.Account, Source: rt.Source, Client: rt.ClientID,
		CreatedAt: rt.CreatedAt.UTC(), LastUsed: rt.LastUsed.UTC(), ExpiresAt: rt.ExpiresAt.UTC()}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
