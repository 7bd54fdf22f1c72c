package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"wharf/internal/accounts"
	"wharf/internal/adminapi"
	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/authstack"
	"wharf/internal/config"
	"wharf/internal/edge"
	"wharf/internal/errcode"
	"wharf/internal/gate"
	"wharf/internal/ociapi"
)

// tokenPath is where the token endpoint is served; the classic
// docker_auth path /auth is served too.
const tokenPath = authstack.TokenPath

// tokenRoutes mounts the token endpoint that authstack builds, its keys
// and the browser sign-in pages, on the token listener too when there is
// one; in `wharf serve` also the admin API. It returns the registry API's
// authorizer, which verifies the endpoint's own tokens (nil for `wharf
// auth`, which serves no registry).
func (s *Server) tokenRoutes(ctx context.Context, mux *http.ServeMux, console io.Writer) (ociapi.Authorizer, error) {
	e, err := authstack.NewTokenEndpoint(ctx, s.cfg, authstack.Options{Meta: s.meta, Log: s.log, Console: console, Audit: s.auditLogins(),
		Changed: s.auditChanges(), CountTokens: s.countTokens(), UISession: s.uiSignIn})
	if err != nil {
		return nil, err
	}
	s.auth = e
	muxes := []*http.ServeMux{mux}
	if s.tokenLn != nil {
		s.tokenMux = http.NewServeMux()
		muxes = append(muxes, s.tokenMux)
	}
	// The token endpoint, the sign-in pages and the admin API take small
	// bodies, which must arrive in limits.body_timeout.
	small := func(h http.Handler) http.Handler {
		return edge.BodyDeadline(h, s.cfg.Limits.BodyTimeoutOrDefault(), s.log)
	}
	for _, m := range muxes {
		m.Handle("/auth", small(e.Handler))
		m.Handle(tokenPath, small(e.Handler))
		m.HandleFunc("GET /auth/jwks.json", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(e.JWKS())
		})
		for _, r := range e.Routes {
			m.Handle(r.Pattern, small(r.Handler))
		}
	}
	if s.tokenMux != nil {
		s.tokenMux.Handle("/", edge.NoRoute(s.tokenMux))
	}
	if s.cfg.Role != config.RoleAllInOne {
		return nil, nil
	}
	// The admin API lives where the account database and the token
	// endpoint meet, on the main listener only.
	api, err := s.adminAPI(e)
	if err != nil {
		return nil, err
	}
	mux.Handle(adminapi.Prefix, small(e.Pin(api)))
	s.guardMetrics = func(h http.Handler) http.Handler { return e.Pin(api.Metrics(h)) }
	return &ociapi.TokenAuth{Verifier: e.Verifier, Realm: s.realm(), Service: s.cfg.Token.Service, Log: s.log}, nil
}

// adminAPI builds the admin API of `wharf serve` with token auth: its
// callers log in through the token endpoint's own chains, limiter and
// verifier, and its changes go through the account operations the CLI
// uses, with the same reserved names.
func (s *Server) adminAPI(e *authstack.TokenEndpoint) (*adminapi.API, error) {
	svc, err := s.accountService()
	if err != nil {
		return nil, err
	}
	api, err := adminapi.New(adminapi.Config{
		Service:      svc,
		Live:         e.Live,
		Verifier:     e.Verifier,
		Authn:        e.Authn,
		Authz:        e.Authz,
		Limiter:      e.Limiter,
		TokenService: s.cfg.Token.Service,
		Realm:        s.realm(),
		Layers:       e.Layers,
		Configured:   e.Configured,
		GC:           s.adminGC(),
		Replication:  s.adminReplication,
		TokenKeys:    adminTokenKeys(e),
		// The store is the proxy's: one key cache, one audit hook.
		UpstreamCredentials: s.adminUpstreamCredentials(),
		Log:                 s.log,
		Refused:             s.auditAdminRefused(),
		Meta:                s.meta,
		// Read-only mode and retention concern the registry.
		ReadOnlyConfigured: s.cfg.ReadOnly,
		Retention:          s.retention,
		// s.quotas is built with the registry's routes, after these.
		RepositoryChanged: func(repo string) { s.quotas.Forget(repo) },
	})
	if err != nil {
		return nil, fmt.Errorf("server: admin API: %w", err)
	}
	return api, nil
}

// accountService is the account operations of the admin API and the web
// interface: the CLI's, with the same reserved names, recorded in the
// audit log.
func (s *Server) accountService() (*accounts.Service, error) {
	opts, err := authstack.AccountOptions(s.cfg)
	if err != nil {
		return nil, err
	}
	opts.Changed = s.auditChanges()
	return accounts.NewService(s.meta, opts), nil
}

// registryTokenAuth wires `wharf registry` with auth.token: tokens from
// any issuer whose keys are in rootcertbundle or jwks; a configured realm
// is checked once at start-up.
func (s *Server) registryTokenAuth() (ociapi.Authorizer, error) {
	t := s.cfg.Token
	verifier, err := authstack.RegistryVerifier(t, t.Service)
	if err != nil {
		return nil, err
	}
	realm := func(*http.Request) string { return t.Realm }
	if t.Realm == "" {
		realm = ociapi.RealmFromRequest(tokenPath)
	}
	s.log.Info("verifying tokens", "issuer", t.Issuer, "service", t.Service, "realm", t.Realm,
		"rootcertbundle", t.RootCertBundle, "jwks", t.JWKS)
	if t.Realm != "" {
		go authstack.CheckRealm(t.Realm, t.Service, verifier, s.log)
	}
	return &ociapi.TokenAuth{Verifier: verifier, Realm: realm, Service: t.Service, Log: s.log}, nil
}

// errLoginFailed is a wrong user name or password on the registry's Basic
// auth (answered 401 with a challenge).
var errLoginFailed = errors.New("server: incorrect username or password")

// basicAuth wires `auth: htpasswd`: HTTP Basic against an htpasswd file,
// every authenticated user may do everything (as distribution's htpasswd
// mode). A refused or failed check is answered in the registry's errors.
func (s *Server) basicAuth() (ociapi.Authorizer, error) {
	h, err := authstack.NewHtpasswd(s.cfg, s.log)
	if err != nil {
		return nil, err
	}
	log := s.log
	check := func(r *http.Request, user string, password auth.Secret) error {
		ip := edge.ClientIP(r)
		res, err := h.Login(r.Context(), user, password, ip)
		var limited *authn.LimitedError
		var busy *gate.BusyError
		switch {
		case errors.As(err, &limited):
			log.WarnContext(r.Context(), "login rate-limited", "account", user, "ip", ip)
			s.auditBasic(r.Context(), user, ip, "rate limited")
			return &ociapi.AuthError{Code: errcode.TooManyRequests, Message: "too many failed logins; retry later",
				RetryAfter: limited.RetryAfterSeconds()}
		case errors.As(err, &busy):
			return &ociapi.AuthError{Code: errcode.Unavailable, Message: "the server is busy (" + busy.What + "); retry in a moment",
				RetryAfter: busy.RetryAfterSeconds()}
		case err != nil:
			if r.Context().Err() == nil { // else the client left: nothing failed
				log.ErrorContext(r.Context(), "htpasswd authentication failed", "account", user, "err", err)
			}
			return &ociapi.AuthError{Code: errcode.Unavailable, Message: "the credentials cannot be checked now; retry later (the server log has the details)",
				RetryAfter: 5}
		case res != authn.Accepted:
			s.auditBasic(r.Context(), user, ip, "wrong credentials")
			return errLoginFailed
		}
		return nil
	}
	return &ociapi.BasicAuth{Check: check, Realm: h.Realm, Log: log}, nil
}

// adminTokenKeys is the admin API's view of the token endpoint's keys.
func adminTokenKeys(e *authstack.TokenEndpoint) *adminapi.TokenKeys {
	wrap := func(keys []authstack.TokenKeyInfo, err error) (any, error) {
		if errors.Is(err, authstack.ErrKeysConfigured) {
			return nil, fmt.Errorf("%w: %w", adminapi.ErrKeysConfigured, err)
		}
		return keys, err
	}
	return &adminapi.TokenKeys{
		List:   func(ctx context.Context) (any, error) { return wrap(e.TokenKeys(ctx)) },
		Rotate: func(ctx context.Context) (any, error) { return wrap(e.RotateTokenKey(ctx)) },
	}
}
