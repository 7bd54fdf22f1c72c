package ui

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"wharf/internal/accounts"
	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authz"
	"wharf/internal/edge"
	"wharf/internal/errcode"
	"wharf/internal/events"
	"wharf/internal/metadata"
	"wharf/internal/registry"
)

// Prefix is where the interface is mounted.
const Prefix = "/ui/"

// CSP is every page's Content-Security-Policy: nothing but the embedded
// stylesheet and images loads, no script runs, forms post only here and no
// other site may frame a page.
const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Config wires the interface to the token server's own pieces, so that a
// sign-in here is checked, rate-limited and confirmed as a docker login
// is, and a page shows what a pull would be granted.
type Config struct {
	// Authn is the token server's authenticator chain, Limiter its limiter
	// of failed logins, Sessions the bare chain that confirms a session
	// with the backend it came from.
	Authn    authn.Authenticator
	Limiter  *authn.Limiter
	Sessions *authn.Chain
	// Authz is the token server's authorizer (under the guard that reads
	// the database's accounts as they are now).
	Authz authz.Authorizer
	// Store keeps the sessions; Meta lists repositories; Registry reads
	// manifests and config blobs.
	Store    *accounts.SessionStore
	Meta     *metadata.Store
	Registry *registry.Registry
	// Service is the token service, the audience the ACL's rules see.
	Service string
	// DeleteEnabled is storage.delete: without it nothing is deleted here
	// either.
	DeleteEnabled bool
	// SessionTTL bounds a session (default 12h); UnconfirmedTTL bounds one
	// whose backend cannot confirm it without a password.
	SessionTTL, UnconfirmedTTL time.Duration
	// Events, when set, is told of every delete, as the registry API's
	// are (the audit log, notifications, metrics).
	Events events.Sink
	// Accounts makes the changes of the administration and personal
	// pages: the calls the admin API and the CLI make, with their checks
	// (the last administrator) and their audit records. Live, Layers and
	// Configured explain a decision as `wharf acl check` does. Without
	// Accounts and Live those pages are not served.
	Accounts   *accounts.Service
	Live       *accounts.Live
	Layers     []accounts.Layer
	Configured map[string]auth.Labels
	// GCStatus, when set, says whether a garbage collection runs, who
	// holds the lease and how the last run ended, as GET /api/v1/gc
	// answers (a JSON-ready value): the usage page shows it.
	GCStatus func(ctx context.Context) (any, error)
	// RetentionDryRun, when set, reports what the retention policies
	// would remove now, removing nothing (a JSON-ready report, as POST
	// /api/v1/retention with dry_run answers).
	RetentionDryRun func(ctx context.Context) (any, error)
	// SignIns are the browser sign-ins (OIDC, GitHub, GitLab, Google) the
	// sign-in page offers beside the password form: each Start path is
	// visited with ?ui=1, and the provider's callback opens the session
	// through ProviderSession.
	SignIns []SignIn
	// Quotas, when set, reads the quotas of wharf.yml with their usage
	// now (exact, as `wharf quota ls`): the usage page lists them.
	Quotas func(ctx context.Context) ([]QuotaUsage, error)
	// Mirrors, when set, reports the pull-through cache: its counts since
	// start and each upstream's last rate-limit headers (the usage page).
	Mirrors func() Mirrors
	// CACertPath, with tls: auto, is the local CA's certificate, which
	// clients must trust: the personal page offers it for download.
	CACertPath string
	// ClientIP defaults to edge.ClientIP.
	ClientIP func(*http.Request) netip.Addr
	Log      *slog.Logger
	Now      func() time.Time
}

// SignIn is a browser sign-in the sign-in page links to.
type SignIn struct {
	Title, Start string
}

// UI serves the web interface.
type UI struct {
	cfg   Config
	log   *slog.Logger
	mux   *http.ServeMux
	pages *template.Template
}

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// New returns the interface.
func New(cfg Config) (*UI, error) {
	if cfg.Authn == nil || cfg.Limiter == nil || cfg.Authz == nil || cfg.Store == nil || cfg.Meta == nil || cfg.Registry == nil || cfg.Service == "" {
		return nil, errors.New("ui: authn, limiter, authz, session store, metadata, registry and service are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = edge.ClientIP
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.UnconfirmedTTL <= 0 || cfg.UnconfirmedTTL > cfg.SessionTTL {
		cfg.UnconfirmedTTL = cfg.SessionTTL
	}
	pages, err := template.New("").Funcs(funcs).ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("ui: templates: %w", err)
	}
	u := &UI{cfg: cfg, log: cfg.Log.With("component", "ui"), pages: pages}
	u.mux = u.newMux()
	return u, nil
}

func (u *UI) newMux() *http.ServeMux {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFiles, "static")
	mux.Handle("GET "+Prefix+"static/", http.StripPrefix(Prefix+"static/", http.FileServerFS(static)))
	mux.HandleFunc("GET "+Prefix+"login", u.loginPage)
	mux.HandleFunc("POST "+Prefix+"login", u.login)
	mux.HandleFunc("POST "+Prefix+"logout", u.signedIn(u.logout))
	mux.HandleFunc("GET "+Prefix+"{$}", u.signedIn(u.repositories))
	mux.HandleFunc("GET "+Prefix+"repos/{name...}", u.signedIn(u.repository))
	mux.HandleFunc("GET "+Prefix+"manifests/{name...}", u.signedIn(u.manifest))
	mux.HandleFunc("GET "+Prefix+"delete/{name...}", u.signedIn(u.confirmDelete))
	mux.HandleFunc("POST "+Prefix+"delete/{name...}", u.signedIn(u.delete))
	if u.cfg.Accounts != nil && u.cfg.Live != nil {
		u.adminRoutes(mux)
	}
	mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		u.fail(w, r, errcode.PageNotFound, "There is no such page.", nil)
	})
	return mux
}

// ServeHTTP implements http.Handler: every answer carries the security
// headers and is kept out of shared caches.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	u.mux.ServeHTTP(w, r)
}

// Redirect sends / to the interface.
func Redirect(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, Prefix, http.StatusFound)
}

// render writes page with data, whole or not at all: a template that
// fails halfway sends no half page.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	var buf bytes.Buffer
	if err := u.pages.ExecuteTemplate(&buf, page, data); err != nil {
		u.log.ErrorContext(r.Context(), "rendering a page failed", "page", page, "err", err)
		buf.Reset()
		status = errcode.PageFailed.Status()
		_ = u.pages.ExecuteTemplate(&buf, "error.html", errorData{Title: "Something failed", Message: "The page could not be shown; the server log has the details."})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type errorData struct {
	Title, Message string
	Session        *session
}

// fail answers code's status with a page saying message; err (never shown)
// goes to the log.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, code errcode.Code, message string, err error) {
	if err != nil {
		u.log.WarnContext(r.Context(), "web interface: request failed", "status", code.Status(), "path", r.URL.Path, "err", err)
	}
	s, _ := r.Context().Value(sessionKey{}).(*session)
	u.render(w, r, code.Status(), "error.html", errorData{Title: http.StatusText(code.Status()), Message: message, Session: s})
}
