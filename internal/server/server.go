package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"wharf/internal/audit"
	"wharf/internal/auth/password"
	"wharf/internal/authstack"
	"wharf/internal/blobstore"
	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/edge"
	"wharf/internal/gc"
	"wharf/internal/lease"
	"wharf/internal/metadata"
	"wharf/internal/metrics"
	"wharf/internal/notify"
	"wharf/internal/proxy"
	"wharf/internal/quota"
	"wharf/internal/registry"
	"wharf/internal/replicate"
	"wharf/internal/retention"
	"wharf/internal/servertls"
	"wharf/internal/tracing"
	"wharf/internal/ui"
	"wharf/internal/upstreamcreds"
)

// Server is a running wharf.
type Server struct {
	cfg  config.Config
	log  *slog.Logger
	meta *metadata.Store
	reg  *registry.Registry // nil for the token server alone
	// quotas is nil without quotas: in wharf.yml.
	quotas *quota.Enforcer
	http   *http.Server
	// inflight counts requests being served, for shutdown and
	// the idle trimmer (idle.go); lastDone is when the last one ended (Unix ns).
	inflight atomic.Int64
	lastDone atomic.Int64
	// tokenLn and tokenMux serve the token endpoint on its own port when
	// token_addr is set.
	tokenLn  net.Listener
	tokenMux *http.ServeMux
	// trusted are the reverse proxies believed about the client.
	trusted []netip.Prefix
	dir     datadir.Dir
	// lock keeps a second `wharf serve` out of the data directory.
	lock *datadir.Lock
	// auth is the token endpoint and its backends (nil when this server
	// issues no tokens), closed by Close.
	auth *authstack.TokenEndpoint
	// ui is the web interface, nil when it is off or not built yet.
	ui *ui.UI
	// proxy is the pull-through cache, nil without proxy.upstreams.
	proxy *proxy.Cache
	// upcreds are the upstreams' stored credentials (upstreamCredentials).
	upcreds *upstreamcreds.Store
	// metrics are nil when metrics: is off; guardMetrics is the admin
	// API's guard for /metrics on the main listener (nil without one).
	metrics      *metrics.Metrics
	tracer       *tracing.Tracer // nil when tracing: is off
	guardMetrics func(http.Handler) http.Handler
	// ready caches the last readiness probe (ready.go).
	readiness readiness
	// blobs is the registry's blob store, for /readyz (nil without one).
	blobs prober
	// store is the blob store storage: names, opened once (blobStore).
	store blobstore.Store
	// audit is the audit log's writer (nil when audit.enabled is off),
	// flushed by Close before the database closes.
	audit *audit.Log
	// retention runs retention: for the admin API and the schedule.
	retention *retention.Runner
	// notify sends the registry's events to webhooks (nil without
	// notifications: endpoints); Close flushes it.
	notify *notify.Notifier
	// replication runs replication.rules (nil without rules).
	replication *replicate.Runner
	// gc is the garbage collection schedule (nil without a registry).
	gc *gc.Schedule
	// turns gives each periodic job one owner among the replicas on the
	// database (lease).
	turns *lease.Turns
}

// New opens the data directory and builds the server. cfg is a resolved
// configuration (resolve.Config), validated there once: New does not check
// it again. Messages meant for the operator's eyes only (the first-start
// admin password) go to console, never to the log. The caller must Close
// the server.
//
// Every line logged with a request's context carries the request's id
// (edge.NewLogHandler wraps log's handler).
func New(ctx context.Context, cfg config.Config, log *slog.Logger, console io.Writer) (*Server, error) {
	trusted, err := config.ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	log = slog.New(edge.NewLogHandler(log.Handler()))
	applyLimits(cfg, log)
	s := &Server{cfg: cfg, log: log, trusted: trusted, dir: datadir.New(cfg.Data)}
	if s.lock, err = lockDataDir(cfg, s.dir); err != nil {
		return nil, err
	}
	if s.meta, err = authstack.OpenMetadata(ctx, cfg, log); err != nil {
		_ = s.lock.Unlock()
		return nil, err
	}
	s.dir.CheckModes(log)
	s.turns = lease.New(s.meta, lease.Holder("wharf serve"))
	s.newMetrics()
	if err := s.newTracer(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.openAudit(); err != nil {
		s.Close()
		return nil, err
	}
	s.retention = authstack.NewRetention(cfg, s.meta, log)
	s.retention.Turn = s.turns.Every("retention", cfg.Retention.Interval.Std())
	if cfg.TokenAddr != "" {
		// Listening now, not in Serve, so that the realm knows the port.
		if s.tokenLn, err = net.Listen("tcp", cfg.TokenAddr); err != nil {
			s.Close()
			return nil, fmt.Errorf("server: listen on token_addr %s: %w (is another process using the port?)", cfg.TokenAddr, err)
		}
	}
	mux := http.NewServeMux()
	if err := s.routes(ctx, mux, console); err != nil {
		s.Close()
		return nil, err
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.ready)
	s.metricsRoute(mux, s.guardMetrics)
	mux.Handle("/", edge.NoRoute(mux))
	s.http = &http.Server{
		Handler:           s.counting(edge.Handler(edge.V2Gate(withHeaders(mux, cfg.Headers, cfg.HSTS.Std())), trusted, log, cfg.Log.AccessOn(), s.recorder())),
		ReadHeaderTimeout: 20 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// lockDataDir takes the data directory for `wharf serve` when its
// metadata database is SQLite, one process's database: a second server
// on the same directory is refused (datadir.Lock says which process holds
// it and what to do). Replicas sharing a PostgreSQL or MySQL database
// share the data directory's blobs by design, and `wharf registry` and
// `wharf auth` are distribution's and docker_auth's, which take no lock.
func lockDataDir(cfg config.Config, dir datadir.Dir) (*datadir.Lock, error) {
	if cfg.Role != config.RoleAllInOne || cfg.Database.DriverName() != config.DriverSQLite {
		return nil, nil
	}
	if err := dir.Create(); err != nil {
		return nil, err
	}
	return dir.Lock()
}

// Serve listens on the configured address and serves until ctx ends, then
// shuts down gracefully.
func (s *Server) Serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w (is another process using the port? change --addr)", s.cfg.Addr, err)
	}
	tc, err := servertls.Config(ctx, s.cfg, ln.Addr(), s.log)
	if err != nil {
		ln.Close()
		return err
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	s.logStart(ln.Addr())
	if s.reg != nil {
		if iv := s.cfg.Retention.Interval.Std(); iv > 0 {
			go s.retention.Schedule(ctx, iv)
		}
	}
	if s.gc != nil {
		go s.gc.Loop(ctx)
	}
	if s.reg != nil {
		go s.recordUsage(ctx)
	}
	if s.cfg.Auth == "token" && s.cfg.Role != config.RoleRegistry {
		go s.purgeSessions(ctx)
	}
	go newIdleTrimmer(&s.inflight, &s.lastDone).run(ctx)
	if s.notify != nil {
		// Not ctx: requests still draining after it ends record events,
		// which Close flushes.
		s.notify.Run(context.WithoutCancel(ctx))
	}
	s.runReplication(ctx)
	stopSide, err := s.sideListeners(ctx)
	defer stopSide()
	if err != nil {
		ln.Close()
		return err
	}
	errc := make(chan error, 2)
	go func() { errc <- s.http.Serve(ln) }()
	if s.tokenLn != nil {
		tokenSrv := &http.Server{
			Handler:           s.counting(edge.Handler(s.tokenMux, s.trusted, s.log, s.cfg.Log.AccessOn(), s.recorder())),
			ReadHeaderTimeout: 20 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		}
		tln := s.tokenLn
		if tc != nil {
			tln = tls.NewListener(tln, tc)
		}
		s.log.Info("token endpoint is serving", "url", startURL(s.cfg, s.tokenLn.Addr())+"/auth/token", "addr", s.tokenLn.Addr().String())
		go func() { errc <- tokenSrv.Serve(tln) }()
		defer tokenSrv.Close()
	}
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	return s.shutdown(30 * time.Second)
}

// shutdown stops accepting connections and waits for requests in flight,
// at most grace. Idle connections, and new ones that have not sent a request
// (which http.Server.Shutdown would wait 5 s for), are closed at once when
// no request is running.
func (s *Server) shutdown(grace time.Duration) error {
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	go func() { done <- s.http.Shutdown(ctx) }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("server: shutdown: %w", err)
			}
			return nil
		case <-tick.C:
			if s.inflight.Load() == 0 {
				_ = s.http.Close()
			}
		}
	}
}

// myTurn reports whether this replica runs job now (turn), logging a
// failure to ask.
func (s *Server) myTurn(ctx context.Context, turn func(context.Context) (bool, error), job string) bool {
	mine, err := turn(ctx)
	if err != nil && ctx.Err() == nil {
		s.log.Warn(job+" skipped: cannot take its turn", "err", err)
	}
	return mine
}

// Close releases the backends' connections, the database, the token
// listener of a server that never served, and the data directory.
func (s *Server) Close() error {
	if s.tokenLn != nil {
		s.tokenLn.Close()
	}
	var errs []error
	if s.replication != nil {
		s.replication.Close()
	}
	if s.notify != nil {
		s.notify.Close()
	}
	if s.auth != nil {
		errs = append(errs, s.auth.Close())
	}
	errs = append(errs, s.closeAudit())
	if s.meta != nil {
		errs = append(errs, s.meta.Close())
	}
	errs = append(errs, s.shutdownTracer())
	errs = append(errs, s.lock.Unlock())
	return errors.Join(errs...)
}

// counting tracks requests in flight.
func (s *Server) counting(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.inflight.Add(1)
		defer s.inflight.Add(-1)
		defer s.requestDone()
		next.ServeHTTP(w, r)
	})
}

// applyLimits sets the process-wide bound of limits: (the bcrypt gate; the
// others are set where their pieces are built) and logs every bound in
// force, defaults included, whichever command started the server.
func applyLimits(cfg config.Config, log *slog.Logger) {
	lim := cfg.Limits.WithDefaults()
	password.LimitChecks(password.NewGate(lim.PasswordChecks, lim.PasswordCheckWait.Std(), log))
	log.Info("limits on the work of clients", "role", cfg.Role,
		"password_checks", lim.PasswordChecks, "password_check_wait", lim.PasswordCheckWait.Std(),
		"external_calls", lim.ExternalCalls, "external_call_wait", lim.ExternalCallWait.Std(),
		"anonymous_scopes", lim.AnonymousScopes, "anonymous_token_burst", lim.AnonymousTokenBurst,
		"anonymous_token_rate", lim.AnonymousTokenRate,
		"body_timeout", lim.BodyTimeoutOrDefault(), "upload_idle_timeout", lim.UploadIdleTimeoutOrDefault(),
		"uploads", lim.UploadsOrDefault(), "uploads_per_client", lim.UploadsPerClientOrDefault())
}
