package server

import (
	"fmt"
	"net/http"

	"wharf/internal/adminapi"
	"wharf/internal/auth"
	"wharf/internal/auth/authz/dbacl"
	"wharf/internal/identity"
)

// adminAPI builds the admin API of `wharf serve` with token auth: its
// callers log in through the token endpoint's own chains, limiter and
// verifier, and its changes go through the identity operations the CLI
// uses, with the same reserved names.
func (s *Server) adminAPI(ts *tokenServer) (http.Handler, error) {
	opts := IdentityOptions(s.cfg)
	l := ts.login
	configured := make(map[string]auth.Labels, len(l.users))
	for name, u := range l.users {
		configured[name] = u.Labels
	}
	api, err := adminapi.New(adminapi.Config{
		Service:      identity.NewService(s.meta, opts),
		Live:         l.live,
		Verifier:     l.verifier,
		Authn:        l.authn,
		Authz:        l.authz,
		Limiter:      l.limiter,
		TokenService: s.cfg.Token.Service,
		Realm:        s.realm(),
		Layers:       []dbacl.Layer{{Name: configLayerName(s.cfg), ACL: l.configACL}},
		Configured:   configured,
		Log:          s.log,
	})
	if err != nil {
		return nil, fmt.Errorf("server: admin API: %w", err)
	}
	return pinIdentity(l.live, api), nil
}
