package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"wharf/internal/authstack"
	"wharf/internal/blobstore"
	"wharf/internal/config"
	"wharf/internal/diskspace"
	"wharf/internal/edge"
	"wharf/internal/ociapi"
	"wharf/internal/quota"
	"wharf/internal/registry"
)

// routes mounts what the configured role serves: the registry API, the
// token endpoint, or both; `wharf serve` with token auth also serves the
// admin API under /api/v1/.
func (s *Server) routes(ctx context.Context, mux *http.ServeMux, console io.Writer) error {
	cfg := s.cfg
	var authorizer ociapi.Authorizer
	issuesTokens := cfg.Role == config.RoleAuth || (cfg.Role == config.RoleAllInOne && cfg.Auth == "token")
	if cfg.Role != config.RoleAuth {
		if err := s.setupGC(ctx); err != nil {
			return err
		}
	}
	if issuesTokens {
		a, err := s.tokenRoutes(ctx, mux, console)
		if err != nil {
			return err
		}
		authorizer = a
	}
	if s.tokenLn != nil && !issuesTokens {
		return fmt.Errorf("config: token_addr serves the token endpoint, which needs auth: token")
	}
	if cfg.Role == config.RoleAuth {
		return nil
	}
	var err error
	switch cfg.Auth {
	case "token":
		if cfg.Role == config.RoleRegistry {
			authorizer, err = s.registryTokenAuth()
		}
	case "htpasswd":
		authorizer, err = s.basicAuth()
	case "silly":
		authorizer = &ociapi.SillyAuth{Realm: cfg.Silly.Realm, Service: cfg.Silly.Service}
	}
	if err != nil {
		return err
	}
	if err := s.registryRoutes(ctx, mux, authorizer); err != nil {
		return err
	}
	return s.uiRoutes(mux)
}

// registryRoutes mounts the registry API under /v2/, over the blob store
// and the metadata database.
func (s *Server) registryRoutes(ctx context.Context, mux *http.ServeMux, authorizer ociapi.Authorizer) error {
	cfg := s.cfg
	blobs, err := s.blobStore(ctx)
	if err != nil {
		return err
	}
	// The copy buffers are budgeted for as many uploads as the API lets
	// run at once.
	s.blobs = blobs
	uploads := cfg.Limits.UploadsOrDefault()
	opts := registry.Options{
		// Without authorization every client may read every repository, so
		// a mount without `from` reveals nothing.
		AnonymousMount: cfg.Auth == "none",
		MaxUploads:     uploads,
		ReadOnly:       cfg.ReadOnly,
		// Other replicas may serve the same uploads on a shared database.
		Replicas: s.meta.Shared(),
	}
	rules, err := authstack.QuotaRules(cfg)
	if err != nil {
		return err
	}
	if s.quotas = quota.New(s.meta, s.log, rules); s.quotas != nil {
		opts.Admission = s.quotas
	}
	s.reg = registry.New(blobs, s.meta, s.log, opts)
	if s.notify, err = s.newNotifier(); err != nil {
		return fmt.Errorf("server: notifications: %w", err)
	}
	cache, err := s.newProxy()
	if err != nil {
		return err
	}
	s.proxy = cache
	// Replication reaches this registry through an API of its own, in
	// process and without authorization (the rules are the operator's),
	// so that its pushes pass the same checks and raise the same events.
	var local http.Handler
	if s.replication, err = s.newReplication(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { local.ServeHTTP(w, r) })); err != nil {
		return err
	}
	apiOpts := ociapi.Options{
		DeleteEnabled:       cfg.Storage.Delete,
		MaxListPage:         cfg.Limits.ListPage,
		MaxReferrersPage:    cfg.Limits.ReferrersPage,
		MaxUploads:          uploads,
		MaxUploadsPerClient: cfg.Limits.UploadsPerClientOrDefault(),
		UploadIdleTimeout:   cfg.Limits.UploadIdleTimeoutOrDefault(),
		DiskSpace:           func() string { return diskspace.Describe(s.dir.Root()) },
		Events:              s.eventSinks(),
		Failed:              s.apiFailed(),
	}
	localOpts := apiOpts
	localOpts.Events = s.replicationEventSinks()
	local = ociapi.New(s.reg, s.log, nil, localOpts)
	apiOpts.Proxy = cache
	api := ociapi.New(s.reg, s.log, authorizer, apiOpts)
	mux.Handle("/v2/", api)
	mux.Handle("/v2", api)
	return nil
}

// blobStore opens the blob store storage: names, once: garbage collection
// and the registry share it.
func (s *Server) blobStore(ctx context.Context) (blobstore.Store, error) {
	if s.store == nil {
		st, err := blobstore.Open(ctx, s.cfg, s.dir, s.log)
		if err != nil {
			return nil, fmt.Errorf("server: blob storage: %w", err)
		}
		s.store = st
	}
	return s.store, nil
}

// withHeaders adds configured headers to every response (distribution's
// http.headers), and Strict-Transport-Security over HTTPS when hsts > 0.
func withHeaders(next http.Handler, headers map[string][]string, hsts time.Duration) http.Handler {
	if len(headers) == 0 && hsts <= 0 {
		return next
	}
	hstsValue := "max-age=" + strconv.FormatInt(int64(hsts/time.Second), 10)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, vs := range headers {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		if hsts > 0 && edge.PublicOf(r).Scheme == "https" {
			w.Header().Set("Strict-Transport-Security", hstsValue)
		}
		next.ServeHTTP(w, r)
	})
}

// realm is where challenges send clients for tokens: this server's own
// host, on the token listener's port when there is one.
func (s *Server) realm() func(*http.Request) string {
	if s.tokenLn == nil {
		return ociapi.RealmFromRequest(tokenPath)
	}
	_, port, _ := net.SplitHostPort(s.tokenLn.Addr().String())
	return ociapi.RealmOnPort(port, tokenPath)
}
