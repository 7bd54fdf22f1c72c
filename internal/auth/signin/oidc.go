package signin

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"wharf/internal/auth"
)

// OIDCConfig is what NewOIDC needs.
type OIDCConfig struct {
	// Name and Title: "oidc"/"OpenID Connect", or "google"/"Google".
	Name, Title  string
	Issuer       string
	ClientID     string
	ClientSecret auth.Secret
	Scopes       []string
	// UserClaim names the account (email, preferred_username, sub, …).
	UserClaim string
	// Labels maps a label name to the claim its values come from.
	Labels map[string]string
	// HostedDomain, when set, admits only ID tokens whose hd claim is it
	// (Google Workspace).
	HostedDomain string
	// AuthParams are added to the authorization request (Google wants
	// access_type=offline and prompt=consent for a refresh token).
	AuthParams map[string]string
	HTTPClient *http.Client
}

// OIDC signs users in with an OpenID Connect provider: the code flow
// with PKCE S256 and a nonce checked in the ID token. Re-validation uses
// the refresh token (a refusal revokes), or, without one, the userinfo
// endpoint.
type OIDC struct {
	c OIDCConfig

	mu       sync.Mutex
	provider *gooidc.Provider // discovered on first use
}

var _ Provider = (*OIDC)(nil)

// NewOIDC returns the provider. Discovery waits for the first sign-in, so that
// a provider that is down at start does not stop Wharf.
func NewOIDC(c OIDCConfig) (*OIDC, error) {
	if c.Name == "" || c.Title == "" || c.Issuer == "" || c.ClientID == "" || c.UserClaim == "" || c.HTTPClient == nil {
		return nil, errors.New("signin: name, title, issuer, client id, user claim and an HTTP client are required")
	}
	if !slices.Contains(c.Scopes, gooidc.ScopeOpenID) {
		c.Scopes = append([]string{gooidc.ScopeOpenID}, c.Scopes...)
	}
	return &OIDC{c: c}, nil
}

// Name implements Provider.
func (p *OIDC) Name() string { return p.c.Name }

// Title implements Provider.
func (p *OIDC) Title() string { return p.c.Title }

func (p *OIDC) ctx(ctx context.Context) context.Context {
	return gooidc.ClientContext(ctx, p.c.HTTPClient)
}

// discover reads the issuer's configuration once it answers.
func (p *OIDC) discover(ctx context.Context) (*gooidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider != nil {
		return p.provider, nil
	}
	pr, err := gooidc.NewProvider(p.ctx(ctx), p.c.Issuer)
	if err != nil {
		return nil, fmt.Errorf("signin: discovery of %s: %w", p.c.Issuer, err)
	}
	p.provider = pr
	return pr, nil
}

func (p *OIDC) oauth(pr *gooidc.Provider, redirect string) *oauth2.Config {
	return &oauth2.Config{ClientID: p.c.ClientID, ClientSecret: p.c.ClientSecret.Reveal(), Endpoint: pr.Endpoint(),
		RedirectURL: redirect, Scopes: p.c.Scopes}
}

func (p *OIDC) verifier(pr *gooidc.Provider) *gooidc.IDTokenVerifier {
	return pr.VerifierContext(p.ctx(context.Background()), &gooidc.Config{ClientID: p.c.ClientID})
}

// AuthCodeURL implements Provider.
func (p *OIDC) AuthCodeURL(ctx context.Context, a Attempt) (string, error) {
	pr, err := p.discover(ctx)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{gooidc.Nonce(a.Nonce), oauth2.S256ChallengeOption(a.Verifier)}
	for k, v := range p.c.AuthParams {
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	return p.oauth(pr, a.RedirectURL).AuthCodeURL(a.State, opts...), nil
}

// Exchange implements Provider.
func (p *OIDC) Exchange(ctx context.Context, a Attempt, code string) (SignIn, error) {
	pr, err := p.discover(ctx)
	if err != nil {
		return SignIn{}, err
	}
	t, err := p.oauth(pr, a.RedirectURL).Exchange(p.ctx(ctx), code, oauth2.VerifierOption(a.Verifier))
	if err != nil {
		return SignIn{}, exchangeError(err)
	}
	raw, _ := t.Extra("id_token").(string)
	if raw == "" {
		return SignIn{}, errors.New("signin: the token response has no id_token (is the openid scope allowed?)")
	}
	idt, err := p.verifier(pr).Verify(p.ctx(ctx), raw)
	if err != nil {
		return SignIn{}, fmt.Errorf("signin: ID token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(a.Nonce)) != 1 {
		return SignIn{}, errors.New("signin: the ID token's nonce does not match the sign-in's")
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return SignIn{}, fmt.Errorf("signin: ID token claims: %w", err)
	}
	s, err := p.signIn(claims)
	if err != nil {
		return SignIn{}, err
	}
	s.Token = Token{AccessToken: t.AccessToken, TokenType: t.TokenType, RefreshToken: t.RefreshToken, Expiry: t.Expiry}
	return s, nil
}

// Revalidate implements Provider.
func (p *OIDC) Revalidate(ctx context.Context, account string, tok Token) (SignIn, error) {
	pr, err := p.discover(ctx)
	if err != nil {
		return SignIn{}, err
	}
	t, err := refresh(ctx, p.oauth(pr, ""), p.c.HTTPClient, tok, true)
	if err != nil {
		return SignIn{}, err
	}
	claims := map[string]any{}
	if raw, _ := t.Extra("id_token").(string); raw != "" && tok.RefreshToken != "" {
		idt, err := p.verifier(pr).Verify(p.ctx(ctx), raw)
		if err != nil {
			return SignIn{}, fmt.Errorf("signin: refreshed ID token: %w", err)
		}
		if err := idt.Claims(&claims); err != nil {
			return SignIn{}, fmt.Errorf("signin: refreshed ID token claims: %w", err)
		}
	} else {
		ui, err := pr.UserInfo(p.ctx(ctx), oauth2.StaticTokenSource(t))
		if err != nil {
			if strings.HasPrefix(err.Error(), "401") || strings.HasPrefix(err.Error(), "403") {
				return SignIn{}, fmt.Errorf("%w: userinfo: %v", ErrRevoked, err)
			}
			return SignIn{}, fmt.Errorf("signin: userinfo: %w", err)
		}
		if err := ui.Claims(&claims); err != nil {
			return SignIn{}, fmt.Errorf("signin: userinfo claims: %w", err)
		}
	}
	s, err := p.signIn(claims)
	if err != nil {
		return SignIn{}, fmt.Errorf("%w: %v", ErrRevoked, err)
	}
	s.Token = Token{AccessToken: t.AccessToken, TokenType: t.TokenType, RefreshToken: t.RefreshToken, Expiry: t.Expiry}
	return s, nil
}

// signIn reads the account and labels from claims and applies the
// admission rules.
func (p *OIDC) signIn(claims map[string]any) (SignIn, error) {
	account, err := accountFrom(claims, p.c.UserClaim)
	if err != nil {
		return SignIn{}, err
	}
	if p.c.HostedDomain != "" {
		if hd, _ := claims["hd"].(string); !strings.EqualFold(hd, p.c.HostedDomain) {
			return SignIn{}, fmt.Errorf("%w: only accounts of %s are admitted", ErrDenied, p.c.HostedDomain)
		}
	}
	return SignIn{Account: account, Labels: labelsFrom(claims, p.c.Labels)}, nil
}

// accountFrom returns the string claim naming the account. An e-mail
// claim must not be marked unverified.
func accountFrom(claims map[string]any, claim string) (string, error) {
	v, ok := claims[claim].(string)
	if !ok || v == "" {
		return "", fmt.Errorf("%w: the ID token has no %q claim (check the scopes and user_claim)", ErrDenied, claim)
	}
	if claim == "email" {
		if verified, present := claims["email_verified"].(bool); present && !verified {
			return "", fmt.Errorf("%w: the e-mail address %s is not verified", ErrDenied, v)
		}
	}
	return v, nil
}

// Bounds of labels taken from claims.
const (
	maxLabelValues = 1000
	maxLabelLen    = 256
)

// labelsFrom maps claims to labels: a string claim gives one value, a list
// of strings one value each; other values are skipped.
func labelsFrom(claims map[string]any, mapping map[string]string) auth.Labels {
	labels := auth.Labels{}
	for label, claim := range mapping {
		var values []string
		switch v := claims[claim].(type) {
		case string:
			values = []string{v}
		case []any:
			for _, e := range v {
				if s, ok := e.(string); ok {
					values = append(values, s)
				}
			}
		}
		for _, s := range values {
			if s != "" && len(s) <= maxLabelLen && len(labels[label]) < maxLabelValues && !slices.Contains(labels[label], s) {
				labels[label] = append(labels[label], s)
			}
		}
	}
	for k := range labels {
		slices.Sort(labels[k])
	}
	return labels
}
