package server

import (
	"context"
	"net/http"
	"time"

	"wharf/internal/accounts"
	"wharf/internal/auth/signin"
	"wharf/internal/edge"
	"wharf/internal/errcode"
	"wharf/internal/ui"
)

// uiSession bounds a web interface session: a browser left signed in
// asks for its password again the next day, however long a docker
// login's session lives.
const uiSession = 12 * time.Hour

// uiRoutes mounts the web interface of `wharf serve` (unless ui: false),
// over the token endpoint's chains and the registry, and sends / there.
func (s *Server) uiRoutes(mux *http.ServeMux) error {
	if !s.cfg.UIServed() || s.auth == nil || s.reg == nil {
		return nil
	}
	svc, err := s.accountService()
	if err != nil {
		return err
	}
	ca := ""
	if s.cfg.TLS == "auto" {
		ca = s.dir.TLSCACert()
	}
	signIns := make([]ui.SignIn, 0, len(s.auth.SignIns))
	for _, c := range s.auth.SignIns {
		signIns = append(signIns, ui.SignIn{Title: c.Title, Start: c.Path})
	}
	u, err := ui.New(ui.Config{SignIns: signIns, Quotas: s.uiQuotas(), Mirrors: s.uiMirrors(),
		CACertPath: ca, GCStatus: s.gcStatus(), RetentionDryRun: s.retentionDryRun(),
		Accounts: svc, Live: s.auth.Live, Layers: s.auth.Layers, Configured: s.auth.Configured,
		Authn: s.auth.Authn, Limiter: s.auth.Limiter, Sessions: s.auth.Sessions, Authz: s.auth.Authz,
		Store: accounts.NewSessionStore(s.meta), Meta: s.meta, Registry: s.reg,
		Service: s.cfg.Token.Service, DeleteEnabled: s.cfg.Storage.Delete, Events: s.eventSinks(),
		SessionTTL: min(uiSession, s.cfg.Sessions.Lifetime.Std()), UnconfirmedTTL: s.cfg.Sessions.UnconfirmedLifetime.Std(),
		Log: s.log,
	})
	if err != nil {
		return err
	}
	s.ui = u
	small := func(h http.Handler) http.Handler {
		return edge.BodyDeadline(h, s.cfg.Limits.BodyTimeoutOrDefault(), s.log)
	}
	mux.Handle(ui.Prefix, small(s.auth.Pin(u)))
	mux.HandleFunc("GET /{$}", ui.Redirect)
	return nil
}

// gcStatus is the garbage collector's status for the web interface; nil
// where this server collects none.
func (s *Server) gcStatus() func(context.Context) (any, error) {
	if g := s.adminGC(); g != nil {
		return g.Status
	}
	return nil
}

// retentionDryRun reports what the retention policies would remove, for
// the web interface; nil where this server applies none.
func (s *Server) retentionDryRun() func(context.Context) (any, error) {
	if s.retention == nil {
		return nil
	}
	return func(ctx context.Context) (any, error) { return s.retention.Run(ctx, true) }
}

// uiSignIn opens the web interface session of a browser sign-in started
// from its sign-in page; the token endpoint's sign-ins call it, and the
// interface is built after them.
func (s *Server) uiSignIn(w http.ResponseWriter, r *http.Request, in signin.UISignIn) {
	if s.ui == nil {
		w.WriteHeader(errcode.PageNotFound.Status())
		return
	}
	s.ui.ProviderSession(w, r, ui.ProviderSignIn{Provider: in.Provider, Account: in.Account, Labels: in.Labels, Until: in.Until, Next: in.Next})
}

// uiQuotas reads the registry's quotas with their usage for the web
// interface; nil without quotas.
func (s *Server) uiQuotas() func(context.Context) ([]ui.QuotaUsage, error) {
	if s.quotas == nil {
		return nil
	}
	return func(ctx context.Context) ([]ui.QuotaUsage, error) {
		list, err := s.quotas.Statuses(ctx)
		out := make([]ui.QuotaUsage, 0, len(list))
		for _, q := range list {
			out = append(out, ui.QuotaUsage{Pattern: q.Pattern, Limit: q.Limit, Usage: q.Usage, Repositories: q.Repositories})
		}
		return out, err
	}
}

// uiMirrors reports the pull-through cache for the web interface; nil
// without one.
func (s *Server) uiMirrors() func() ui.Mirrors {
	c := s.proxy
	if c == nil {
		return nil
	}
	return func() ui.Mirrors {
		st := c.Stats()
		m := ui.Mirrors{ManifestFetches: st.ManifestFetches, BlobFetches: st.BlobFetches, Revalidations: st.Revalidations,
			Hits: st.Hits, Stale: st.Stale}
		for _, u := range c.Upstreams() {
			m.Upstreams = append(m.Upstreams, ui.MirrorUpstream{Prefix: u.Prefix, Host: u.Host, Limit: u.RateLimit.Limit, Remaining: u.RateLimit.Remaining})
		}
		return m
	}
}
