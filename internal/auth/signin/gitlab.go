package signin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"golang.org/x/oauth2"

	"wharf/internal/auth"
)

// GitLabConfig is what NewGitLab needs.
type GitLabConfig struct {
	ClientID     string
	ClientSecret auth.Secret
	// Organization, when set, admits members of this group (full path) or
	// of one of its subgroups only.
	Organization string
	// GroupsFrom are the groups (full paths) whose memberships become the
	// groups label: the group itself and its subgroups. Anyone can create
	// a group with an unclaimed name, so the user's other groups never
	// become labels.
	GroupsFrom []string
	WebURI     string // https://gitlab.com
	APIURI     string // https://gitlab.com/api/v4
	HTTPClient *http.Client
}

// GitLab signs users in with GitLab's OAuth applications. Labels: groups
// (the full paths of the user's groups under GroupsFrom).
type GitLab struct {
	c     GitLabConfig
	oauth *oauth2.Config
	api   api
}

var _ Provider = (*GitLab)(nil)

// NewGitLab returns the GitLab provider.
func NewGitLab(c GitLabConfig) (*GitLab, error) {
	if c.ClientID == "" || c.ClientSecret == "" || c.WebURI == "" || c.APIURI == "" || c.HTTPClient == nil {
		return nil, errors.New("signin: gitlab: client id, secret, web and API URIs and an HTTP client are required")
	}
	return &GitLab{c: c, api: api{client: c.HTTPClient, accept: "application/json"}, oauth: &oauth2.Config{
		ClientID: c.ClientID, ClientSecret: c.ClientSecret.Reveal(),
		Endpoint: oauth2.Endpoint{AuthURL: c.WebURI + "/oauth/authorize", TokenURL: c.WebURI + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams},
		Scopes: []string{"read_api"},
	}}, nil
}

// Name implements Provider.
func (g *GitLab) Name() string { return "gitlab" }

// Title implements Provider.
func (g *GitLab) Title() string { return "GitLab" }

func (g *GitLab) config(redirect string) *oauth2.Config {
	c := *g.oauth
	c.RedirectURL = redirect
	return &c
}

// AuthCodeURL implements Provider.
func (g *GitLab) AuthCodeURL(_ context.Context, a Attempt) (string, error) {
	return g.config(a.RedirectURL).AuthCodeURL(a.State, oauth2.S256ChallengeOption(a.Verifier)), nil
}

// Exchange implements Provider.
func (g *GitLab) Exchange(ctx context.Context, a Attempt, code string) (SignIn, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, g.c.HTTPClient)
	t, err := g.config(a.RedirectURL).Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
	if err != nil {
		return SignIn{}, exchangeError(err)
	}
	return g.identify(ctx, tokenOf(t))
}

// Revalidate implements Provider: GitLab's access tokens expire (two
// hours), so the refresh token renews it first; then the API is asked.
func (g *GitLab) Revalidate(ctx context.Context, _ string, tok Token) (SignIn, error) {
	t, err := refresh(ctx, g.oauth, g.c.HTTPClient, tok, false)
	if err != nil {
		return SignIn{}, err
	}
	s, err := g.identify(ctx, tokenOf(t))
	if errors.Is(err, errUnauthorized) {
		return SignIn{}, fmt.Errorf("%w: %v", ErrRevoked, err)
	}
	return s, err
}

func (g *GitLab) identify(ctx context.Context, tok Token) (SignIn, error) {
	var user struct {
		Username string `json:"username"`
		State    string `json:"state"`
	}
	if _, _, err := g.api.get(ctx, g.c.APIURI+"/user", tok.AccessToken, &user); err != nil {
		return SignIn{}, err
	}
	if user.Username == "" {
		return SignIn{}, errors.New("GitLab's /user named no username")
	}
	if user.State != "" && user.State != "active" {
		return SignIn{}, fmt.Errorf("%w: the GitLab account %s is %s", ErrRevoked, user.Username, user.State)
	}
	var groups []struct {
		FullPath string `json:"full_path"`
	}
	if err := pages(ctx, g.api, g.c.APIURI+"/groups?min_access_level=10&per_page=100", tok.AccessToken, &groups); err != nil {
		return SignIn{}, err
	}
	labels := auth.Labels{}
	member := g.c.Organization == ""
	for _, gr := range groups {
		if slices.ContainsFunc(g.c.GroupsFrom, func(top string) bool { return within(gr.FullPath, top) }) {
			labels["groups"] = appendNew(labels["groups"], gr.FullPath)
		}
		if org := g.c.Organization; org != "" && within(gr.FullPath, org) {
			member = true
		}
	}
	if !member {
		return SignIn{}, fmt.Errorf("%w: %s is not a member of the GitLab group %s", ErrDenied, user.Username, g.c.Organization)
	}
	slices.Sort(labels["groups"])
	return SignIn{Account: user.Username, Labels: labels, Token: tok}, nil
}

// within reports whether the group path is top or one of its subgroups
// (GitLab's paths are case-insensitive).
func within(path, top string) bool {
	return strings.EqualFold(path, top) || strings.HasPrefix(strings.ToLower(path), strings.ToLower(top)+"/")
}
