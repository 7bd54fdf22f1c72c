package authstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/signin"
	"wharf/internal/config"
	"wharf/internal/edge"
)

// TokenPath is where `wharf serve` and `wharf auth` serve their token
// endpoint; docker_auth's /auth is served too.
const TokenPath = "/auth/token"

// The browser sign-ins (google_auth, github_auth, oidc_auth, gitlab_auth),
// asked in docker_auth's order, share one store of sign-ins in the data
// directory, opened by the first one configured, and one page listing
// them (signInIndex). None configured opens nothing.

func googleAuth(ctx context.Context, b *builder) (Backend, io.Closer, error) {
	s := b.cfg.GoogleAuth
	if s == nil {
		return Backend{}, nil, nil
	}
	g := s.WithDefaults()
	return b.signIn(ctx, "google_auth", g.OAuthLogin, func(secret auth.Secret) (signin.Provider, error) {
		return signin.NewOIDC(signin.OIDCConfig{Name: "google", Title: "Google", Issuer: g.Issuer, ClientID: g.ClientID, ClientSecret: secret,
			Scopes: []string{"openid", "email"}, UserClaim: "email", HostedDomain: g.Domain,
			AuthParams: map[string]string{"access_type": "offline", "prompt": "consent"}, HTTPClient: httpClient(g.OAuthLogin)})
	}, nil)
}

func githubAuth(ctx context.Context, b *builder) (Backend, io.Closer, error) {
	s := b.cfg.GitHubAuth
	if s == nil {
		return Backend{}, nil, nil
	}
	g := s.WithDefaults()
	return b.signIn(ctx, "github_auth", g.OAuthLogin, func(secret auth.Secret) (signin.Provider, error) {
		return signin.NewGitHub(signin.GitHubConfig{ClientID: g.ClientID, ClientSecret: secret, Organization: g.Organization, GroupsFrom: g.GroupsFrom,
			WebURI: g.GitHubWebURI, APIURI: g.GitHubAPIURI, HTTPClient: httpClient(g.OAuthLogin)})
	}, nil)
}

// oidcAuth also accepts the provider's ID tokens as passwords when
// id_tokens is set.
func oidcAuth(ctx context.Context, b *builder) (Backend, io.Closer, error) {
	s := b.cfg.OIDCAuth
	if s == nil {
		return Backend{}, nil, nil
	}
	o := s.WithDefaults()
	labels := map[string]string{}
	for _, c := range o.LabelsClaims {
		labels[c] = c
	}
	for k, v := range o.Labels {
		labels[k] = v
	}
	client := httpClient(o.OAuthLogin)
	return b.signIn(ctx, "oidc_auth", o.OAuthLogin, func(secret auth.Secret) (signin.Provider, error) {
		return signin.NewOIDC(signin.OIDCConfig{Name: "oidc", Title: "OpenID Connect", Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: secret,
			Scopes: o.Scopes, UserClaim: o.UserClaim, Labels: labels, HTTPClient: client})
	}, func(next authn.Authenticator) (authn.Authenticator, error) {
		var id *signin.IDTokenConfig
		if t := o.IDTokens; t != nil {
			id = &signin.IDTokenConfig{Issuer: t.Issuer, Audiences: t.Audiences, UserClaim: t.UserClaim, Labels: labels, HTTPClient: client}
			b.log.Info("ID tokens accepted as passwords", "issuer", t.Issuer, "audiences", t.Audiences, "user_claim", t.UserClaim)
		}
		return signin.NewIDTokenAuthenticator(next, id, b.log)
	})
}

func gitlabAuth(ctx context.Context, b *builder) (Backend, io.Closer, error) {
	s := b.cfg.GitLabAuth
	if s == nil {
		return Backend{}, nil, nil
	}
	g := s.WithDefaults()
	return b.signIn(ctx, "gitlab_auth", g.OAuthLogin, func(secret auth.Secret) (signin.Provider, error) {
		return signin.NewGitLab(signin.GitLabConfig{ClientID: g.ClientID, ClientSecret: secret, Organization: g.Organization, GroupsFrom: g.GroupsFrom,
			WebURI: g.GitLabWebURI, APIURI: g.GitLabAPIURI, HTTPClient: httpClient(g.OAuthLogin)})
	}, nil)
}

// uiLogin is the web interface's sign-in page when this server serves
// one (the path is the ui package's, which authstack does not import).
func uiLogin(cfg config.Config) string {
	if cfg.UIServed() {
		return "/ui/login"
	}
	return ""
}

// uiSession is how a browser sign-in started from the web interface opens
// its session there; nil where no interface is served.
func uiSession(b *builder) func(http.ResponseWriter, *http.Request, signin.UISignIn) {
	if uiLogin(b.cfg) == "" {
		return nil
	}
	return b.opts.UISession
}

// signInIndex is the page that lists the configured sign-ins.
func signInIndex(_ context.Context, b *builder) (Backend, io.Closer, error) {
	if len(b.choices) == 0 {
		return Backend{}, nil, nil
	}
	return Backend{Routes: []Route{{"/auth/login", signin.Index(b.choices)}}}, nil, nil
}

// signIn builds one browser sign-in from its section: the provider (from
// the client secret), its authenticator (wrapped by wrap when set) and its
// pages. The sign-ins live in the metadata database; the first sign-in
// imports an earlier release's <data>/auth/sign-ins.db.
func (b *builder) signIn(ctx context.Context, section string, common config.OAuthLogin,
	provider func(auth.Secret) (signin.Provider, error), wrap func(authn.Authenticator) (authn.Authenticator, error)) (Backend, io.Closer, error) {
	if b.signIns == nil {
		if b.opts.Meta == nil {
			return Backend{}, nil, fmt.Errorf("%s: browser sign-ins need the metadata database", section)
		}
		if err := importSignIns(ctx, b.dir, b.opts.Meta, b.log); err != nil {
			return Backend{}, nil, err
		}
		b.signIns = signIns{meta: b.opts.Meta}
	}
	be, err := b.newSignIn(section, common, provider, wrap)
	return be, nil, err
}

func (b *builder) newSignIn(section string, common config.OAuthLogin,
	provider func(auth.Secret) (signin.Provider, error), wrap func(authn.Authenticator) (authn.Authenticator, error)) (Backend, error) {
	secret, err := clientSecret(section, common, b.log)
	if err != nil {
		return Backend{}, err
	}
	p, err := provider(secret)
	if err != nil {
		return Backend{}, err
	}
	var final authn.Authenticator
	final, err = signin.NewAuthenticator(signin.AuthenticatorConfig{Provider: p, Store: b.signIns,
		RevalidateAfter: common.RevalidateAfter.Std(), Timeout: common.HTTPTimeout.Std(), Log: b.log})
	if err == nil && wrap != nil {
		final, err = wrap(final)
	}
	if err != nil {
		return Backend{}, fmt.Errorf("%s: %w", section, err)
	}
	name := p.Name()
	start, callback := "/auth/"+name+"/login", "/auth/"+name+"/callback"
	registry := common.RegistryURL
	if registry == "" && b.cfg.Role == config.RoleAuth {
		registry = "REGISTRY_HOST"
	}
	l, err := signin.NewLogin(signin.LoginConfig{Provider: p, Store: b.signIns, Attempts: signInAttempts{meta: b.opts.Meta}, RedirectURL: common.RedirectURL,
		CallbackPath: callback, StartPath: start, OmitRedirect: name == "github" && common.RedirectURL == "",
		Public: publicOf, RegistryHost: registry, UIPath: uiLogin(b.cfg), UISession: uiSession(b), RevalidateAfter: common.RevalidateAfter.Std(),
		PasswordLifetime: common.PasswordLifetime.Std(), Timeout: common.HTTPTimeout.Std(), Log: b.log})
	if err != nil {
		return Backend{}, fmt.Errorf("%s: %w", section, err)
	}
	routes := []Route{
		{start, http.HandlerFunc(l.Start)},
		{callback, http.HandlerFunc(l.Callback)},
		{"/" + name + "_auth", http.HandlerFunc(l.Handler)}, // docker_auth's path
	}
	if common.RedirectURL != "" {
		path, err := b.redirectPath(section, common.RedirectURL, callback, name, routes)
		if err != nil {
			return Backend{}, err
		}
		if path != "" {
			routes = append(routes, Route{path, http.HandlerFunc(l.Callback)})
		}
	}
	b.choices = append(b.choices, signin.Choice{Title: p.Title(), Path: start})
	b.log.Info("browser sign-in enabled", "backend", name, "login", start, "callback", callbackNote(common.RedirectURL, callback, name),
		"revalidate_after", common.RevalidateAfter.Std(), "password_lifetime", common.PasswordLifetime.Std(), "store", "metadata database")
	return Backend{Authn: final, Routes: routes}, nil
}

// redirectPath returns the path of redirect_url to serve the callback on
// besides its own ("" when it is one of those), and refuses a path the
// server, an earlier sign-in or this one's other pages (own) serve.
func (b *builder) redirectPath(section, redirect, callback, name string, own []Route) (string, error) {
	u, _ := url.Parse(redirect) // validated with the configuration
	switch {
	case u.Path == callback || u.Path == "/"+name+"_auth":
		return "", nil
	case u.Path == "" || u.Path == "/" || strings.HasPrefix(u.Path, "/v2") || u.Path == "/auth" || u.Path == TokenPath ||
		u.Path == "/auth/jwks.json" || u.Path == "/healthz" || u.Path == "/readyz":
		return "", fmt.Errorf("%s.redirect_url: the path %q is taken; use %s", section, u.Path, callback)
	case slices.ContainsFunc(slices.Concat(b.built.routes, own), func(r Route) bool { return r.Pattern == u.Path }):
		return "", fmt.Errorf("%s.redirect_url: the path %q is another sign-in's; use %s", section, u.Path, callback)
	}
	return u.Path, nil
}

// publicOf is the browser's scheme and host, behind trusted proxies too.
func publicOf(r *http.Request) (string, string) {
	p := edge.PublicOf(r)
	return p.Scheme, p.Host
}

func callbackNote(redirect, callback, name string) string {
	switch {
	case redirect != "":
		return redirect
	case name == "github":
		return "the callback URL registered with the GitHub app (" + callback + " or /github_auth on this host)"
	}
	return "this host's " + callback
}

func httpClient(c config.OAuthLogin) *http.Client {
	return &http.Client{Timeout: c.HTTPTimeout.Std()}
}

// clientSecret reads a section's client secret: from client_secret_file,
// or docker_auth's inline client_secret.
func clientSecret(section string, c config.OAuthLogin, log *slog.Logger) (auth.Secret, error) {
	if c.ClientSecret != "" {
		log.Warn(section + ".client_secret is written in the configuration file; client_secret_file keeps it out of it")
		return auth.Secret(c.ClientSecret.Reveal()), nil
	}
	b, err := os.ReadFile(c.ClientSecretFile)
	if err != nil {
		return "", fmt.Errorf("%s.client_secret_file: %w", section, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s.client_secret_file: %s is empty", section, c.ClientSecretFile)
	}
	if strings.ContainsAny(s, "\r\n") {
		return "", errors.New(section + ".client_secret_file: the file holds more than one line; put the secret alone in it")
	}
	return auth.Secret(s), nil
}
