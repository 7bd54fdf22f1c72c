package authstack

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"

	"wharf/internal/auth/token"
	"wharf/internal/certs"
	"wharf/internal/config"
)

// RegistryVerifier is the verifier of `wharf registry` with auth.token:
// tokens for service from any issuer whose keys are in rootcertbundle or
// jwks. `wharf doctor` checks a realm's tokens with the same one.
func RegistryVerifier(t config.Token, service string) (*token.Verifier, error) {
	vc := token.VerifierConfig{Issuer: t.Issuer, Service: service}
	if t.RootCertBundle != "" {
		b, err := os.ReadFile(t.RootCertBundle)
		if err != nil {
			return nil, fmt.Errorf("auth.token.rootcertbundle: %w", err)
		}
		if vc.Roots, err = token.ParseCertificatesPEM(b); err != nil {
			return nil, fmt.Errorf("auth.token.rootcertbundle %s: %w", t.RootCertBundle, err)
		}
	}
	if t.JWKS != "" {
		b, err := os.ReadFile(t.JWKS)
		if err != nil {
			return nil, fmt.Errorf("auth.token.jwks: %w", err)
		}
		vc.JWKS = b
	}
	verifier, err := token.NewVerifier(vc)
	if err != nil {
		return nil, fmt.Errorf("auth.token: %w", err)
	}
	return verifier, nil
}

// SigningVerifier verifies, for service, the tokens the token endpoint of
// cfg signs: with token.certificate when a key is configured, else with the
// keys of the metadata database that have not retired (every replica's).
// `wharf doctor` checks a running `wharf serve`'s tokens with it.
func SigningVerifier(ctx context.Context, cfg config.Config, service string) (*token.Verifier, error) {
	if cfg.Token.Certificate != "" {
		certs, err := readCertificates("token certificate", cfg.Token.Certificate)
		if err != nil {
			return nil, err
		}
		return token.NewVerifier(token.VerifierConfig{Issuer: cfg.Token.Issuer, Service: service, Keys: []crypto.PublicKey{certs[0].PublicKey}})
	}
	meta, err := OpenMetadata(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	defer meta.Close()
	rows, err := meta.TokenKeys(ctx, time.Now())
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errors.New("authstack: the metadata database holds no token-signing key yet: start wharf serve once")
	}
	keys := make([]crypto.PublicKey, 0, len(rows))
	for _, r := range rows {
		s, err := parseKeyRow(r)
		if err != nil {
			return nil, err
		}
		keys = append(keys, s.key.Public())
	}
	return token.NewVerifier(token.VerifierConfig{Issuer: cfg.Token.Issuer, Service: service, Keys: keys})
}

// CheckRealm diagnoses the token setup of `wharf registry` at start-up,
// before any client fails with a bare 401: it asks the realm for an
// anonymous token (which docker_auth and wharf issue, with no access) and
// verifies it with verifier. A realm that does not answer, or a token
// that does not verify (issuer, service or signing key not matching this
// registry's configuration), is logged with the reason.
func CheckRealm(realm, service string, verifier *token.Verifier, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u, err := url.Parse(realm)
	if err != nil {
		log.Warn("token realm is not a valid URL; clients cannot log in", "realm", realm, "err", err)
		return
	}
	q := u.Query()
	q.Set("service", service)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		log.Warn("token realm is not a valid URL; clients cannot log in", "realm", realm, "err", err)
		return
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if a := certs.AdviseTLS(err, u.Host, time.Now()); a != nil {
		// The registry checks tokens offline; only this check, and every
		// client that does not trust the realm either, are affected.
		log.Warn("token realm's certificate is refused from this host; clients that do not trust it cannot log in",
			"realm", realm, "problem", a.Problem, "fix", a.Fix)
		return
	}
	if err != nil {
		log.Warn("token realm does not answer from this host; check auth.token.realm and that the token server runs", "realm", realm, "err", err)
		return
	}
	defer res.Body.Close()
	var body struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if res.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&body) != nil {
		log.Info("token realm answers but gives no anonymous token to check the setup with", "realm", realm, "status", res.StatusCode)
		return
	}
	raw := body.Token
	if raw == "" {
		raw = body.AccessToken
	}
	if _, err := verifier.Verify(raw); err != nil {
		log.Warn("a token from the realm does not verify with this registry's settings: every login will end in 401", "realm", realm, "reason", err.Error())
		return
	}
	log.Info("token realm answers and its tokens verify here", "realm", realm)
}
