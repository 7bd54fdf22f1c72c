package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"time"
)

// OAuthLogin holds what the four browser sign-in sections (oidc_auth,
// github_auth, gitlab_auth, google_auth) share: the OAuth client Wharf is at
// the provider, where the provider sends the browser back, and how long a
// registry password from a sign-in lives.
//
// A user signs in with a browser at the provider; Wharf shows a generated
// registry password, to use with docker login, and re-validates the user
// with the provider every RevalidateAfter.
type OAuthLogin struct {
	// ClientID is the OAuth client's id at the provider.
	ClientID string `yaml:"client_id"`
	// ClientSecretFile holds the client's secret, read at start and
	// trimmed.
	ClientSecretFile string `yaml:"client_secret_file"`
	// ClientSecret is docker_auth's inline secret. Only `wharf auth` takes
	// it, from an unchanged auth_config.yml; wharf.yml wants the file.
	ClientSecret SecretValue `yaml:"client_secret"`
	// RedirectURL is the callback URL registered at the provider. Empty
	// means this server's own scheme and host (as the browser reached it)
	// with /auth/<provider>/callback.
	RedirectURL string `yaml:"redirect_url"`
	// HTTPTimeout bounds every call to the provider (default 10s).
	HTTPTimeout Duration `yaml:"http_timeout"`
	// RevalidateAfter is how often a registry password's user is checked
	// again with the provider (default 1h).
	RevalidateAfter Duration `yaml:"revalidate_after"`
	// PasswordLifetime is how long a registry password works at most,
	// re-validations notwithstanding (default 720h, 30 days).
	PasswordLifetime Duration `yaml:"password_lifetime"`
	// RegistryURL is the registry's host[:port], shown in the docker login
	// command on the result page. Empty means the host the browser used.
	RegistryURL string `yaml:"registry_url"`
}

// SecretValue is a secret written in a configuration file. It prints as
// *** so that a logged configuration never shows it.
type SecretValue string

func (SecretValue) String() string                 { return "***" }
func (SecretValue) GoString() string               { return `config.SecretValue("***")` }
func (SecretValue) LogValue() slog.Value           { return slog.StringValue("***") }
func (s SecretValue) Reveal() string               { return string(s) }
func (s SecretValue) MarshalText() ([]byte, error) { return []byte("***"), nil }

// OIDCAuth configures sign-in with any OpenID Connect provider
// (docker_auth's oidc_auth).
type OIDCAuth struct {
	// Issuer is the provider's issuer URL; its
	// /.well-known/openid-configuration is read on first use.
	Issuer     string `yaml:"issuer"`
	OAuthLogin `yaml:",inline"`
	// Scopes asked for (default openid, email, offline_access — the last for
	// a refresh token; openid is always asked).
	Scopes []string `yaml:"scopes"`
	// UserClaim is the ID token claim that names the account (default
	// email, as in docker_auth).
	UserClaim string `yaml:"user_claim"`
	// LabelsClaims are claims copied to labels of the same name
	// (docker_auth's).
	LabelsClaims []string `yaml:"labels_claims"`
	// Labels maps a label name to the claim its values come from, e.g.
	// groups: groups.
	Labels map[string]string `yaml:"labels"`
	// IDTokens, when set, accepts an ID token as the password of docker
	// login, for CI systems that hold one (workload identity).
	IDTokens *IDTokens `yaml:"id_tokens"`
}

// IDTokens configures ID tokens as passwords.
type IDTokens struct {
	// Issuer whose tokens are accepted (default: the section's issuer).
	Issuer string `yaml:"issuer"`
	// Audiences: the token's aud must contain one of them. Required.
	Audiences []string `yaml:"audiences"`
	// UserClaim names the account (default: the section's user_claim).
	UserClaim string `yaml:"user_claim"`
}

// GitHubAuth configures sign-in with GitHub or GitHub Enterprise
// (docker_auth's github_auth).
type GitHubAuth struct {
	OAuthLogin `yaml:",inline"`
	// Organization, when set, admits members of this organization only;
	// its teams become the label teams.
	Organization string `yaml:"organization"`
	// GroupsFrom are the organizations whose memberships (the
	// organization and org/team) become the label groups; default: the
	// organization. Other organizations never do: anyone can create one
	// with an unclaimed name.
	GroupsFrom []string `yaml:"groups_from"`
	// GitHubWebURI is the web site (default https://github.com).
	GitHubWebURI string `yaml:"github_web_uri"`
	// GitHubAPIURI is the REST API (default https://api.github.com).
	GitHubAPIURI string `yaml:"github_api_uri"`
}

// GitLabAuth configures sign-in with GitLab (docker_auth's gitlab_auth).
type GitLabAuth struct {
	OAuthLogin `yaml:",inline"`
	// Organization, when set, admits members of this group (its full
	// path) and its subgroups only.
	Organization string `yaml:"organization"`
	// GroupsFrom are the groups (full paths) whose memberships (the group
	// and its subgroups) become the label groups; default: the
	// organization. Other groups never do: anyone can create one with an
	// unclaimed name.
	GroupsFrom []string `yaml:"groups_from"`
	// GitLabWebURI is the web site (default https://gitlab.com).
	GitLabWebURI string `yaml:"gitlab_web_uri"`
	// GitLabAPIURI is the REST API (default <gitlab_web_uri>/api/v4).
	GitLabAPIURI string `yaml:"gitlab_api_uri"`
}

// GoogleAuth configures sign-in with Google accounts (docker_auth's
// google_auth).
type GoogleAuth struct {
	OAuthLogin `yaml:",inline"`
	// Domain, when set, admits accounts of this Google Workspace domain
	// only (the ID token's hd claim).
	Domain string `yaml:"domain"`
	// Issuer is Google's (the default); another OpenID provider speaking
	// Google's dialect can stand in for tests.
	Issuer string `yaml:"issuer"`
}

// Sign-in defaults.
const (
	DefaultOAuthHTTPTimeout      = Duration(10 * time.Second)
	DefaultOAuthRevalidateAfter  = Duration(time.Hour)
	DefaultOAuthPasswordLifetime = Duration(30 * 24 * time.Hour)
	DefaultOIDCUserClaim         = "email"
	DefaultGitHubWebURI          = "https://github.com"
	DefaultGitHubAPIURI          = "https://api.github.com"
	DefaultGitLabWebURI          = "https://gitlab.com"
	DefaultGoogleIssuer          = "https://accounts.google.com"
)

// WithDefaults fills the shared settings left empty.
func (o OAuthLogin) WithDefaults() OAuthLogin {
	if o.HTTPTimeout == 0 {
		o.HTTPTimeout = DefaultOAuthHTTPTimeout
	}
	if o.RevalidateAfter == 0 {
		o.RevalidateAfter = DefaultOAuthRevalidateAfter
	}
	if o.PasswordLifetime == 0 {
		o.PasswordLifetime = DefaultOAuthPasswordLifetime
	}
	return o
}

// WithDefaults fills the settings left empty.
func (o OIDCAuth) WithDefaults() OIDCAuth {
	o.OAuthLogin = o.OAuthLogin.WithDefaults()
	if len(o.Scopes) == 0 {
		o.Scopes = []string{"openid", "email", "offline_access"}
	} else if !contains(o.Scopes, "openid") {
		o.Scopes = append([]string{"openid"}, o.Scopes...)
	}
	if o.UserClaim == "" {
		o.UserClaim = DefaultOIDCUserClaim
	}
	if o.IDTokens != nil {
		t := *o.IDTokens
		if t.Issuer == "" {
			t.Issuer = o.Issuer
		}
		if t.UserClaim == "" {
			t.UserClaim = o.UserClaim
		}
		o.IDTokens = &t
	}
	return o
}

// WithDefaults fills the settings left empty.
func (g GitHubAuth) WithDefaults() GitHubAuth {
	g.OAuthLogin = g.OAuthLogin.WithDefaults()
	if g.GitHubWebURI == "" {
		g.GitHubWebURI = DefaultGitHubWebURI
	}
	if g.GitHubAPIURI == "" {
		g.GitHubAPIURI = DefaultGitHubAPIURI
	}
	g.GitHubWebURI = strings.TrimSuffix(g.GitHubWebURI, "/")
	g.GitHubAPIURI = strings.TrimSuffix(g.GitHubAPIURI, "/")
	if len(g.GroupsFrom) == 0 && g.Organization != "" {
		g.GroupsFrom = []string{g.Organization}
	}
	return g
}

// WithDefaults fills the settings left empty.
func (g GitLabAuth) WithDefaults() GitLabAuth {
	g.OAuthLogin = g.OAuthLogin.WithDefaults()
	if g.GitLabWebURI == "" {
		g.GitLabWebURI = DefaultGitLabWebURI
	}
	g.GitLabWebURI = strings.TrimSuffix(g.GitLabWebURI, "/")
	if g.GitLabAPIURI == "" {
		g.GitLabAPIURI = g.GitLabWebURI + "/api/v4"
	}
	g.GitLabAPIURI = strings.TrimSuffix(g.GitLabAPIURI, "/")
	if len(g.GroupsFrom) == 0 && g.Organization != "" {
		g.GroupsFrom = []string{g.Organization}
	}
	return g
}

// WithDefaults fills the settings left empty.
func (g GoogleAuth) WithDefaults() GoogleAuth {
	g.OAuthLogin = g.OAuthLogin.WithDefaults()
	if g.Issuer == "" {
		g.Issuer = DefaultGoogleIssuer
	}
	return g
}

// validate reports the shared settings' problems under prefix.
func (o OAuthLogin) validate(prefix string, role string) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: "+format, append([]any{prefix, key}, args...)...))
	}
	if o.ClientID == "" {
		bad("client_id", "required: the OAuth client's id at the provider")
	}
	switch {
	case o.ClientSecret != "" && role != RoleAuth:
		bad("client_secret", "a secret does not belong in wharf.yml: write it to a file and name it in client_secret_file")
	case o.ClientSecret != "" && o.ClientSecretFile != "":
		bad("client_secret", "give client_secret or client_secret_file, not both")
	case o.ClientSecret == "" && o.ClientSecretFile == "":
		bad("client_secret_file", "required: the file holding the OAuth client's secret")
	}
	if o.RedirectURL != "" {
		if err := checkURL(o.RedirectURL); err != nil {
			bad("redirect_url", "%v", err)
		}
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{{"http_timeout", o.HTTPTimeout}, {"revalidate_after", o.RevalidateAfter}, {"password_lifetime", o.PasswordLifetime}} {
		if d.v < 0 {
			bad(d.key, "must be positive (for example \"1h\")")
		}
	}
	if strings.Contains(o.RegistryURL, "://") || strings.ContainsAny(o.RegistryURL, " \t\r\n\"'<>") {
		bad("registry_url", "%q: give the registry's host[:port], as in docker login HOST", o.RegistryURL)
	}
	return errs
}

// checkURL accepts an absolute http(s) URL without user info or fragment.
func checkURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL", s)
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("%q: want an https:// URL", s)
	case u.Host == "":
		return fmt.Errorf("%q: no host", s)
	case u.User != nil || u.Fragment != "":
		return fmt.Errorf("%q: no user info or fragment", s)
	}
	return nil
}

func (o OIDCAuth) validate(role string) []error {
	const prefix = "oidc_auth"
	errs := o.OAuthLogin.validate(prefix, role)
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: "+format, append([]any{prefix, key}, args...)...))
	}
	if o.Issuer == "" {
		bad("issuer", "required: the provider's issuer URL (for example https://accounts.example.com)")
	} else if err := checkURL(o.Issuer); err != nil {
		bad("issuer", "%v", err)
	}
	if o.RedirectURL == "" && role == RoleAuth {
		bad("redirect_url", "required: the callback URL registered at the provider, as in docker_auth")
	}
	for i, s := range o.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			bad(fmt.Sprintf("scopes[%d]", i), "%q is not a scope name", s)
		}
	}
	for _, c := range o.LabelsClaims {
		if c == "" {
			bad("labels_claims", "a claim name is empty")
		}
	}
	names := make([]string, 0, len(o.Labels))
	for k := range o.Labels {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		switch {
		case k == "":
			bad("labels", "a label needs a name")
		case o.Labels[k] == "":
			bad("labels."+k, "the claim the label's values come from is required")
		}
	}
	if t := o.IDTokens; t != nil {
		if len(t.Audiences) == 0 {
			bad("id_tokens.audiences", "required: the audience (aud) the ID tokens must be issued for")
		}
		for _, a := range t.Audiences {
			if a == "" {
				bad("id_tokens.audiences", "an audience is empty")
			}
		}
		if t.Issuer != "" {
			if err := checkURL(t.Issuer); err != nil {
				bad("id_tokens.issuer", "%v", err)
			}
		}
	}
	return errs
}

func (g GitHubAuth) validate(role string) []error {
	errs := g.OAuthLogin.validate("github_auth", role)
	for _, u := range []struct{ key, v string }{{"github_web_uri", g.GitHubWebURI}, {"github_api_uri", g.GitHubAPIURI}} {
		if u.v != "" {
			if err := checkURL(u.v); err != nil {
				errs = append(errs, fmt.Errorf("github_auth.%s: %v", u.key, err))
			}
		}
	}
	if strings.ContainsAny(g.Organization, "/ ?#") {
		errs = append(errs, fmt.Errorf("github_auth.organization: %q is not an organization's login", g.Organization))
	}
	return errs
}

func (g GitLabAuth) validate(role string) []error {
	errs := g.OAuthLogin.validate("gitlab_auth", role)
	for _, u := range []struct{ key, v string }{{"gitlab_web_uri", g.GitLabWebURI}, {"gitlab_api_uri", g.GitLabAPIURI}} {
		if u.v != "" {
			if err := checkURL(u.v); err != nil {
				errs = append(errs, fmt.Errorf("gitlab_auth.%s: %v", u.key, err))
			}
		}
	}
	if strings.ContainsAny(g.Organization, " ?#") || strings.HasPrefix(g.Organization, "/") || strings.HasSuffix(g.Organization, "/") {
		errs = append(errs, fmt.Errorf("gitlab_auth.organization: %q is not a group's full path (for example acme or acme/platform)", g.Organization))
	}
	return errs
}

func (g GoogleAuth) validate(role string) []error {
	errs := g.OAuthLogin.validate("google_auth", role)
	if g.Issuer != "" {
		if err := checkURL(g.Issuer); err != nil {
			errs = append(errs, fmt.Errorf("google_auth.issuer: %v", err))
		}
	}
	if strings.ContainsAny(g.Domain, "@/ ") {
		errs = append(errs, fmt.Errorf("google_auth.domain: %q is not a domain name (for example example.com)", g.Domain))
	}
	return errs
}

// validateSignIns checks the sign-in sections of c.
func (c Config) validateSignIns() []error {
	var errs []error
	some := c.OIDCAuth != nil || c.GitHubAuth != nil || c.GitLabAuth != nil || c.GoogleAuth != nil
	if some && (c.Auth != "token" || c.Role == RoleRegistry) {
		errs = append(errs, errors.New("oidc_auth, github_auth, gitlab_auth, google_auth: sign-ins give passwords for token requests; they need auth: token (wharf serve or wharf auth)"))
	}
	if c.OIDCAuth != nil {
		errs = append(errs, c.OIDCAuth.validate(c.Role)...)
	}
	if c.GitHubAuth != nil {
		errs = append(errs, c.GitHubAuth.validate(c.Role)...)
	}
	if c.GitLabAuth != nil {
		errs = append(errs, c.GitLabAuth.validate(c.Role)...)
	}
	if c.GoogleAuth != nil {
		errs = append(errs, c.GoogleAuth.validate(c.Role)...)
	}
	return errs
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
