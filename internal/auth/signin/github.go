package signin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/oauth2"

	"wharf/internal/auth"
)

// GitHubConfig is what NewGitHub needs.
type GitHubConfig struct {
	ClientID     string
	ClientSecret auth.Secret
	// Organization, when set, admits its members only; its team slugs
	// become the label teams (docker_auth's).
	Organization string
	// GroupsFrom are the organizations whose memberships become the groups
	// label (the organization's login and org/team-slug). Anyone can
	// create an organization with an unclaimed name, so the user's other
	// organizations never become labels.
	GroupsFrom []string
	WebURI     string // https://github.com
	APIURI     string // https://api.github.com
	HTTPClient *http.Client
}

// GitHub signs users in with GitHub's OAuth apps. Labels: teams (the slugs
// of the user's teams in Organization, as docker_auth), and groups (the
// user's organizations among GroupsFrom, and their org/team-slugs).
type GitHub struct {
	c     GitHubConfig
	oauth *oauth2.Config
	api   api
}

var _ Provider = (*GitHub)(nil)

// NewGitHub returns the GitHub provider.
func NewGitHub(c GitHubConfig) (*GitHub, error) {
	if c.ClientID == "" || c.ClientSecret == "" || c.WebURI == "" || c.APIURI == "" || c.HTTPClient == nil {
		return nil, errors.New("signin: github: client id, secret, web and API URIs and an HTTP client are required")
	}
	return &GitHub{c: c, api: api{client: c.HTTPClient, accept: "application/vnd.github+json"}, oauth: &oauth2.Config{
		ClientID: c.ClientID, ClientSecret: c.ClientSecret.Reveal(),
		Endpoint: oauth2.Endpoint{AuthURL: c.WebURI + "/login/oauth/authorize", TokenURL: c.WebURI + "/login/oauth/access_token",
			AuthStyle: oauth2.AuthStyleInParams},
		Scopes: []string{"read:org"},
	}}, nil
}

// Name implements Provider.
func (g *GitHub) Name() string { return "github" }

// Title implements Provider.
func (g *GitHub) Title() string { return "GitHub" }

func (g *GitHub) config(redirect string) *oauth2.Config {
	c := *g.oauth
	c.RedirectURL = redirect
	return &c
}

// AuthCodeURL implements Provider.
func (g *GitHub) AuthCodeURL(_ context.Context, a Attempt) (string, error) {
	return g.config(a.RedirectURL).AuthCodeURL(a.State, oauth2.S256ChallengeOption(a.Verifier)), nil
}

// Exchange implements Provider.
func (g *GitHub) Exchange(ctx context.Context, a Attempt, code string) (SignIn, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, g.c.HTTPClient)
	t, err := g.config(a.RedirectURL).Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
	if err != nil {
		return SignIn{}, exchangeError(err)
	}
	return g.identify(ctx, tokenOf(t))
}

// Revalidate implements Provider: GitHub's OAuth app tokens do not expire,
// so asking the API with the token is the check.
func (g *GitHub) Revalidate(ctx context.Context, _ string, tok Token) (SignIn, error) {
	s, err := g.identify(ctx, tok)
	if errors.Is(err, errUnauthorized) {
		return SignIn{}, fmt.Errorf("%w: %v", ErrRevoked, err)
	}
	return s, err
}

type githubOrg struct {
	Login string `json:"login"`
}

type githubTeam struct {
	Slug         string    `json:"slug"`
	Organization githubOrg `json:"organization"`
}

// identify asks who the token's user is, checks the organization and
// gathers the labels.
func (g *GitHub) identify(ctx context.Context, tok Token) (SignIn, error) {
	var user struct {
		Login string `json:"login"`
	}
	if _, _, err := g.api.get(ctx, g.c.APIURI+"/user", tok.AccessToken, &user); err != nil {
		return SignIn{}, err
	}
	if user.Login == "" {
		return SignIn{}, errors.New("GitHub's /user named no login")
	}
	if org := g.c.Organization; org != "" {
		status, _, err := g.api.get(ctx, g.c.APIURI+"/orgs/"+url.PathEscape(org)+"/members/"+url.PathEscape(user.Login), tok.AccessToken, nil)
		if err != nil {
			return SignIn{}, err
		}
		if status != http.StatusNoContent {
			return SignIn{}, fmt.Errorf("%w: %s is not a member of the GitHub organization %s", ErrDenied, user.Login, org)
		}
	}
	var orgs []githubOrg
	if err := pages(ctx, g.api, g.c.APIURI+"/user/orgs?per_page=100", tok.AccessToken, &orgs); err != nil {
		return SignIn{}, err
	}
	var teams []githubTeam
	if err := pages(ctx, g.api, g.c.APIURI+"/user/teams?per_page=100", tok.AccessToken, &teams); err != nil {
		return SignIn{}, err
	}
	labels := auth.Labels{}
	claimed := func(org string) bool {
		return slices.ContainsFunc(g.c.GroupsFrom, func(o string) bool { return strings.EqualFold(o, org) })
	}
	for _, o := range orgs {
		if claimed(o.Login) {
			labels["groups"] = appendNew(labels["groups"], o.Login)
		}
	}
	for _, t := range teams {
		if claimed(t.Organization.Login) {
			labels["groups"] = appendNew(labels["groups"], t.Organization.Login, t.Organization.Login+"/"+t.Slug)
		}
		if g.c.Organization != "" && strings.EqualFold(t.Organization.Login, g.c.Organization) {
			labels["teams"] = appendNew(labels["teams"], t.Slug)
		}
	}
	for k := range labels {
		slices.Sort(labels[k])
	}
	return SignIn{Account: user.Login, Labels: labels, Token: tok}, nil
}

// pages reads a paginated list into out.
func pages[T any](ctx context.Context, c api, u, token string, out *[]T) error {
	for i := 0; u != "" && i < maxPages; i++ {
		var page []T
		_, next, err := c.get(ctx, u, token, &page)
		if err != nil {
			return err
		}
		*out = append(*out, page...)
		u = next
	}
	return nil
}

func appendNew(list []string, values ...string) []string {
	for _, v := range values {
		if v != "" && !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}
