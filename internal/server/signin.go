package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/oauthlogin"
	"wharf/internal/auth/oidc"
	"wharf/internal/config"
	"wharf/internal/edge"
)

// signInStore is the file of browser sign-ins under the data directory.
const signInStore = "sign-ins.db"

// route is a pattern and its handler, mounted next to the token endpoint.
type route struct {
	pattern string
	handler http.Handler
}

// signIns are the browser sign-in backends (google_auth, github_auth,
// oidc_auth, gitlab_auth): their authenticators in docker_auth's order,
// their pages, and the store they share.
type signIns struct {
	authenticators []authn.Authenticator
	routes         []route
	closers        []io.Closer
}

// publicOf is the browser's scheme and host, behind trusted proxies too.
func publicOf(r *http.Request) (string, string) {
	p := edge.PublicOf(r)
	return p.Scheme, p.Host
}

// setupSignIns builds the configured sign-in backends; none configured
// gives an empty result and opens nothing.
func setupSignIns(ctx context.Context, cfg config.Config, dir string, log *slog.Logger) (*signIns, error) {
	out := &signIns{}
	if cfg.OIDCAuth == nil && cfg.GitHubAuth == nil && cfg.GitLabAuth == nil && cfg.GoogleAuth == nil {
		return out, nil
	}
	path := filepath.Join(dir, signInStore)
	store, err := oauthlogin.OpenSQLite(ctx, path)
	if err != nil {
		return nil, err
	}
	out.closers = append(out.closers, store)
	fail := func(err error) (*signIns, error) {
		store.Close()
		return nil, err
	}
	var choices []oauthlogin.Choice
	add := func(section string, common config.OAuthLogin, p oauthlogin.Provider, wrap func(authn.Authenticator) (authn.Authenticator, error)) error {
		a, err := oauthlogin.NewAuthenticator(oauthlogin.AuthenticatorConfig{Provider: p, Store: store,
			RevalidateAfter: common.RevalidateAfter.Std(), Timeout: common.HTTPTimeout.Std(), Log: log})
		if err != nil {
			return fmt.Errorf("%s: %w", section, err)
		}
		var final authn.Authenticator = a
		if wrap != nil {
			if final, err = wrap(a); err != nil {
				return fmt.Errorf("%s: %w", section, err)
			}
		}
		name := p.Name()
		start, callback := "/auth/"+name+"/login", "/auth/"+name+"/callback"
		registry := common.RegistryURL
		if registry == "" && cfg.Role == config.RoleAuth {
			registry = "REGISTRY_HOST"
		}
		l, err := oauthlogin.NewLogin(oauthlogin.LoginConfig{Provider: p, Store: store, RedirectURL: common.RedirectURL,
			CallbackPath: callback, StartPath: start, OmitRedirect: name == "github" && common.RedirectURL == "",
			Public: publicOf, RegistryHost: registry, RevalidateAfter: common.RevalidateAfter.Std(),
			PasswordLifetime: common.PasswordLifetime.Std(), Timeout: common.HTTPTimeout.Std(), Log: log})
		if err != nil {
			return fmt.Errorf("%s: %w", section, err)
		}
		out.authenticators = append(out.authenticators, final)
		out.routes = append(out.routes,
			route{start, http.HandlerFunc(l.Start)},
			route{callback, http.HandlerFunc(l.Callback)},
			route{"/" + name + "_auth", http.HandlerFunc(l.Handler)}) // docker_auth's path
		if common.RedirectURL != "" {
			u, _ := url.Parse(common.RedirectURL) // validated with the configuration
			switch {
			case u.Path == callback || u.Path == "/"+name+"_auth":
			case u.Path == "" || u.Path == "/" || strings.HasPrefix(u.Path, "/v2") || u.Path == "/auth" || u.Path == tokenPath ||
				u.Path == "/auth/jwks.json" || u.Path == "/healthz" || u.Path == "/readyz":
				return fmt.Errorf("%s.redirect_url: the path %q is taken; use %s", section, u.Path, callback)
			case slices.ContainsFunc(out.routes, func(r route) bool { return r.pattern == u.Path }):
				return fmt.Errorf("%s.redirect_url: the path %q is another sign-in's; use %s", section, u.Path, callback)
			default:
				out.routes = append(out.routes, route{u.Path, http.HandlerFunc(l.Callback)})
			}
		}
		choices = append(choices, oauthlogin.Choice{Title: p.Title(), Path: start})
		log.Info("browser sign-in enabled", "backend", name, "login", start, "callback", callbackNote(common.RedirectURL, callback, name),
			"revalidate_after", common.RevalidateAfter.Std(), "password_lifetime", common.PasswordLifetime.Std(), "store", path)
		return nil
	}
	// docker_auth asks google, github, oidc, gitlab in this order.
	if s := cfg.GoogleAuth; s != nil {
		g := s.WithDefaults()
		secret, err := clientSecret("google_auth", g.OAuthLogin, log)
		if err != nil {
			return fail(err)
		}
		p, err := oidc.New(oidc.Config{Name: "google", Title: "Google", Issuer: g.Issuer, ClientID: g.ClientID, ClientSecret: secret,
			Scopes: []string{"openid", "email"}, UserClaim: "email", HostedDomain: g.Domain,
			AuthParams: map[string]string{"access_type": "offline", "prompt": "consent"}, HTTPClient: httpClient(g.OAuthLogin)})
		if err == nil {
			err = add("google_auth", g.OAuthLogin, p, nil)
		}
		if err != nil {
			return fail(err)
		}
	}
	if s := cfg.GitHubAuth; s != nil {
		g := s.WithDefaults()
		secret, err := clientSecret("github_auth", g.OAuthLogin, log)
		if err != nil {
			return fail(err)
		}
		p, err := oauthlogin.NewGitHub(oauthlogin.GitHubConfig{ClientID: g.ClientID, ClientSecret: secret, Organization: g.Organization, GroupsFrom: g.GroupsFrom,
			WebURI: g.GitHubWebURI, APIURI: g.GitHubAPIURI, HTTPClient: httpClient(g.OAuthLogin)})
		if err == nil {
			err = add("github_auth", g.OAuthLogin, p, nil)
		}
		if err != nil {
			return fail(err)
		}
	}
	if s := cfg.OIDCAuth; s != nil {
		o := s.WithDefaults()
		secret, err := clientSecret("oidc_auth", o.OAuthLogin, log)
		if err != nil {
			return fail(err)
		}
		labels := map[string]string{}
		for _, c := range o.LabelsClaims {
			labels[c] = c
		}
		for k, v := range o.Labels {
			labels[k] = v
		}
		client := httpClient(o.OAuthLogin)
		p, err := oidc.New(oidc.Config{Name: "oidc", Title: "OpenID Connect", Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: secret,
			Scopes: o.Scopes, UserClaim: o.UserClaim, Labels: labels, HTTPClient: client})
		if err == nil {
			err = add("oidc_auth", o.OAuthLogin, p, func(next authn.Authenticator) (authn.Authenticator, error) {
				var id *oidc.IDTokenConfig
				if t := o.IDTokens; t != nil {
					id = &oidc.IDTokenConfig{Issuer: t.Issuer, Audiences: t.Audiences, UserClaim: t.UserClaim, Labels: labels, HTTPClient: client}
					log.Info("ID tokens accepted as passwords", "issuer", t.Issuer, "audiences", t.Audiences, "user_claim", t.UserClaim)
				}
				return oidc.NewAuthenticator(next, id, log)
			})
		}
		if err != nil {
			return fail(err)
		}
	}
	if s := cfg.GitLabAuth; s != nil {
		g := s.WithDefaults()
		secret, err := clientSecret("gitlab_auth", g.OAuthLogin, log)
		if err != nil {
			return fail(err)
		}
		p, err := oauthlogin.NewGitLab(oauthlogin.GitLabConfig{ClientID: g.ClientID, ClientSecret: secret, Organization: g.Organization, GroupsFrom: g.GroupsFrom,
			WebURI: g.GitLabWebURI, APIURI: g.GitLabAPIURI, HTTPClient: httpClient(g.OAuthLogin)})
		if err == nil {
			err = add("gitlab_auth", g.OAuthLogin, p, nil)
		}
		if err != nil {
			return fail(err)
		}
	}
	out.routes = append(out.routes, route{"/auth/login", oauthlogin.Index(choices)})
	return out, nil
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
