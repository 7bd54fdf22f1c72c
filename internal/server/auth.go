package server

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"wharf/internal/adminuser"
	"wharf/internal/atomicfile"
	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/static"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/token"
	"wharf/internal/auth/tokenserver"
	"wharf/internal/config"
	"wharf/internal/identity"
	"wharf/internal/metadata"
	"wharf/internal/ociapi"
)

// tokenPath is where the all-in-one server serves its token endpoint; the
// classic docker_auth path /auth is served too.
const tokenPath = "/auth/token"

// tokenServer is the token endpoint and, in the all-in-one server, the
// verifier of its own tokens.
type tokenServer struct {
	handler    http.Handler
	jwks       []byte
	authorizer ociapi.Authorizer // nil for `wharf auth`, which serves no registry
	closers    []io.Closer       // backends holding connections
	routes     []route           // browser sign-in pages
	// login is what the admin API checks its callers with: the token
	// endpoint's own chains, limiter and (in `wharf serve`) verifier.
	login loginChains
}

// loginChains are the token endpoint's authentication pieces, shared with
// the admin API so that both check, cache and rate-limit logins alike.
type loginChains struct {
	authn     authn.Authenticator
	authz     authz.Authorizer
	limiter   *authn.Limiter
	verifier  *token.Verifier // nil for `wharf auth`
	live      *identity.Live
	configACL *authz.ACL
	users     map[string]static.User
}

// setupTokenServer wires the token endpoint. In `wharf serve` it also
// builds the verifier of its own tokens: issuer, service, realm and key come
// from one place, so they cannot disagree.
func setupTokenServer(ctx context.Context, cfg config.Config, meta *metadata.Store, log *slog.Logger, console io.Writer, realm func(*http.Request) string) (*tokenServer, error) {
	dir := filepath.Join(cfg.Data, "auth")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("server: auth directory: %w", err)
	}
	key, chain, err := signingKey(cfg.Token, dir, log)
	if err != nil {
		return nil, err
	}
	issuer, err := token.NewIssuer(token.IssuerConfig{Issuer: cfg.Token.Issuer, Key: key, Chain: chain, Expiration: cfg.Token.Expiration.Std()})
	if err != nil {
		return nil, fmt.Errorf("server: token issuer: %w", err)
	}
	users := maps.Clone(map[string]static.User(cfg.Users)) // the admin may join them
	if users == nil {
		users = map[string]static.User{}
	}
	allInOne := cfg.Role == config.RoleAllInOne
	adminFile := "" // the built-in admin's hash file, when it is used
	if allInOne {
		// The admin joins the configured users in one backend, so that
		// every login costs exactly one bcrypt comparison: with two
		// backends an unknown user would cost two and could be told apart.
		path, err := adminuser.Bootstrap(dir, adminuser.BootstrapOptions{Terminal: console, Log: log})
		if err != nil {
			return nil, err
		}
		if _, defined := users[adminuser.Name]; defined {
			log.Info("the configuration defines admin; its password is used instead of the built-in admin's")
		} else {
			hash, err := adminuser.Read(path)
			if err != nil {
				return nil, err
			}
			users[adminuser.Name], adminFile = static.User{Password: auth.Secret(hash)}, path
		}
	}
	// The database users come next and compare an unknown user's password
	// with a dummy hash; the static backend skips its own, so that every
	// login costs one bcrypt comparison and timing tells no names apart.
	st, err := static.NewWithOptions(users, static.Options{SkipDummy: true})
	if err != nil {
		return nil, fmt.Errorf("config: users: %w", err)
	}
	acl, err := loadACL(cfg.ACL, allInOne, log)
	if err != nil {
		return nil, err
	}
	db, err := setupIdentity(ctx, meta, users, log)
	if err != nil {
		return nil, err
	}
	if adminFile != "" {
		// `wharf user passwd admin` rewrites the file and moves the
		// identity generation: the next request reads it again.
		db.live.OnChange(func() { reloadAdmin(st, adminFile, log) })
	}
	// The backends, in the order they are asked (docker_auth's: static
	// users first, then the database's, then the external backends; the
	// configured ACL first, then the database's, then the external
	// authorizers). The first definite answer wins; an error denies.
	var (
		authenticators []authn.Authenticator // external, in docker_auth's order
		authorizers    authz.Chain           // external, in docker_auth's order
	)
	si, err := setupSignIns(ctx, cfg, dir, log)
	if err != nil {
		return nil, err
	}
	authenticators = append(authenticators, si.authenticators...)
	closers := si.closers
	closeAll := func() {
		for _, c := range closers {
			_ = c.Close()
		}
	}
	la, err := ldapAuthenticator(cfg.LDAP, log)
	if err != nil {
		closeAll()
		return nil, err
	}
	if la != nil {
		authenticators = append(authenticators, la)
		closers = append(closers, la)
	}
	dbb, err := setupDatabaseBackends(ctx, cfg, log)
	if err != nil {
		for _, c := range closers {
			_ = c.Close()
		}
		return nil, err
	}
	closers = append(closers, closerFunc(dbb.close))
	authenticators = append(authenticators, dbb.authenticators()...)
	authorizers = append(authorizers, dbb.authorizers()...)
	limits := cfg.Limits.WithDefaults()
	pool := externalPool(limits, log)
	extAuthn, err := externalAuthenticators(cfg, pool, log)
	if err != nil {
		closeAll()
		return nil, err
	}
	authenticators = append(authenticators, extAuthn...)
	extAuthz, err := externalAuthorizers(cfg, pool, log)
	if err != nil {
		closeAll()
		return nil, err
	}
	authorizers = append(authorizers, extAuthz...)
	authenticator, authorizer, sessions := db.chains(st, authenticators, acl, authorizers, log)
	limiter := authn.NewLimiter(authn.LimiterOptions{})
	ts, err := tokenserver.New(tokenserver.Config{
		Service: cfg.Token.Service,
		Issuer:  issuer,
		Authn:   authenticator,
		Authz:   authorizer,
		Limiter: limiter,
		AnonymousLimiter: authn.NewRequestLimiter(authn.RequestLimiterOptions{What: "anonymous token requests",
			Rate: authn.Rate{Burst: limits.AnonymousTokenBurst, Every: limits.AnonymousTokenEvery()}}),
		AnonymousScopes: limits.AnonymousScopes,
		Refresh:         meta,
		Sessions:        sessions,
		// How long a docker login lasts: confirmed with its backend at
		// every refresh, or (backends that cannot be asked) a day.
		RefreshTTL:     cfg.Sessions.Lifetime.Std(),
		UnconfirmedTTL: cfg.Sessions.UnconfirmedLifetime.Std(),
		Log:            log,
	})
	if err != nil {
		closeAll()
		return nil, err
	}
	out := &tokenServer{handler: pinIdentity(db.live, ts), jwks: issuer.JWKS(), closers: closers, routes: si.routes, login: loginChains{
		authn: authenticator, authz: authorizer, limiter: limiter, live: db.live, configACL: acl, users: users,
	}}
	if allInOne {
		verifier, err := token.NewVerifier(token.VerifierConfig{Issuer: cfg.Token.Issuer, Service: cfg.Token.Service, Keys: []crypto.PublicKey{issuer.PublicKey()}})
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("server: token verifier: %w", err)
		}
		out.authorizer = &ociapi.TokenAuth{Verifier: verifier, Realm: realm, Service: cfg.Token.Service, Log: log}
		out.login.verifier = verifier
	}
	return out, nil
}

// setupTokenVerifier wires `wharf registry` with auth.token: tokens from any
// issuer whose keys are in rootcertbundle or jwks.
func setupTokenVerifier(_ context.Context, cfg config.Config, log *slog.Logger) (ociapi.Authorizer, error) {
	vc := token.VerifierConfig{Issuer: cfg.Token.Issuer, Service: cfg.Token.Service}
	if cfg.Token.RootCertBundle != "" {
		b, err := os.ReadFile(cfg.Token.RootCertBundle)
		if err != nil {
			return nil, fmt.Errorf("auth.token.rootcertbundle: %w", err)
		}
		if vc.Roots, err = token.ParseCertificatesPEM(b); err != nil {
			return nil, fmt.Errorf("auth.token.rootcertbundle %s: %w", cfg.Token.RootCertBundle, err)
		}
	}
	if cfg.Token.JWKS != "" {
		b, err := os.ReadFile(cfg.Token.JWKS)
		if err != nil {
			return nil, fmt.Errorf("auth.token.jwks: %w", err)
		}
		vc.JWKS = b
	}
	verifier, err := token.NewVerifier(vc)
	if err != nil {
		return nil, fmt.Errorf("auth.token: %w", err)
	}
	realm := func(*http.Request) string { return cfg.Token.Realm }
	if cfg.Token.Realm == "" {
		realm = ociapi.RealmFromRequest(tokenPath)
	}
	log.Info("verifying tokens", "issuer", cfg.Token.Issuer, "service", cfg.Token.Service, "realm", cfg.Token.Realm,
		"rootcertbundle", cfg.Token.RootCertBundle, "jwks", cfg.Token.JWKS)
	if cfg.Token.Realm != "" {
		go checkRealm(cfg.Token.Realm, cfg.Token.Service, verifier, log)
	}
	return &ociapi.TokenAuth{Verifier: verifier, Realm: realm, Service: cfg.Token.Service, Log: log}, nil
}

// signingKey loads the configured token key and certificate, or the ones
// generated on first start in dir.
func signingKey(c config.Token, dir string, log *slog.Logger) (crypto.Signer, []*x509.Certificate, error) {
	keyPath, certPath := c.Key, c.Certificate
	if keyPath == "" {
		keyPath, certPath = filepath.Join(dir, "token.key"), filepath.Join(dir, "token.crt")
		if _, err := os.Stat(keyPath); errors.Is(err, fs.ErrNotExist) {
			if err := generateSigningKey(keyPath, certPath); err != nil {
				return nil, nil, err
			}
			log.Info("generated a token-signing key", "key", keyPath, "certificate", certPath)
		}
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("server: token key: %w", err)
	}
	key, err := token.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("server: token key %s: %w", keyPath, err)
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, fmt.Errorf("server: token certificate: %w", err)
	}
	chain, err := token.ParseCertificatesPEM(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("server: token certificate %s: %w", certPath, err)
	}
	return key, chain, nil
}

func generateSigningKey(keyPath, certPath string) error {
	key, err := token.GenerateKey(token.KeyECDSAP256)
	if err != nil {
		return fmt.Errorf("server: generate token key: %w", err)
	}
	cert, err := token.SelfSignedCert(key, "wharf token signer", 5*365*24*time.Hour)
	if err != nil {
		return fmt.Errorf("server: token certificate: %w", err)
	}
	keyPEM, err := token.EncodePrivateKeyPEM(key)
	if err != nil {
		return fmt.Errorf("server: token key: %w", err)
	}
	if err := atomicfile.Write(certPath, token.EncodeCertificatesPEM(cert), 0o644); err != nil {
		return err
	}
	return atomicfile.Write(keyPath, keyPEM, 0o600)
}

// reloadAdmin reads the built-in admin's hash file again and, when the
// password changed, uses the new one from the next login on.
func reloadAdmin(st *static.Authenticator, path string, log *slog.Logger) {
	hash, err := adminuser.Read(path)
	if err != nil {
		log.Error("reading the admin account's file failed; its previous password stays in use", "err", err)
		return
	}
	changed, err := st.SetPassword(adminuser.Name, auth.Secret(hash))
	switch {
	case err != nil:
		log.Error("the admin account's file holds an unusable hash; its previous password stays in use", "file", path, "err", err)
	case changed:
		log.Info("the admin password changed; the new one is in use", "file", path)
	}
}

// defaultACL is used when the configuration has no acl: the admin may do
// everything, everyone else nothing.
func defaultACL() []authz.Rule {
	admin := "admin"
	return []authz.Rule{{Match: authz.Match{Account: &admin}, Actions: []string{"*"}, Comment: "default: admin has full access"}}
}

// loadACL compiles the configured ACL. Without one, `wharf serve` lets only
// admin in; `wharf auth`, like docker_auth, denies everything.
func loadACL(c config.ACL, allInOne bool, log *slog.Logger) (*authz.ACL, error) {
	var rules []authz.Rule
	switch {
	case c.Given:
		rules = c.Rules
	case allInOne:
		rules = defaultACL()
		log.Info("no acl configured: only admin has access")
	default:
		log.Warn("no acl configured: every request is denied")
	}
	acl, err := authz.New(rules)
	if err != nil {
		return nil, fmt.Errorf("config: acl: %w", err)
	}
	for _, w := range authz.Lint(rules) {
		log.Warn("acl: " + w.String())
	}
	return acl, nil
}

// closerFunc adapts a function to io.Closer.
type closerFunc func()

func (f closerFunc) Close() error { f(); return nil }

// checkRealm diagnoses the token setup at start-up, before any client
// fails with a bare 401: it asks the realm for an anonymous token (which
// docker_auth and wharf issue, with no access) and verifies it here. A
// realm that does not answer, or a token that does not verify (issuer,
// service or signing key not matching this registry's configuration), is
// logged with the reason.
func checkRealm(realm, service string, verifier *token.Verifier, log *slog.Logger) {
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
