package server

import (
	"context"
	"net/netip"
	"time"

	"wharf/internal/accounts"
	"wharf/internal/audit"
	"wharf/internal/auth/tokenserver"
	"wharf/internal/config"
	"wharf/internal/events"
)

// openAudit starts the audit log's writer when audit.enabled is on.
func (s *Server) openAudit() error {
	a := s.cfg.Audit
	if !a.On() {
		return nil
	}
	pulls := map[string]audit.Pulls{config.AuditPullsManifests: audit.PullsManifests, config.AuditPullsAll: audit.PullsAll,
		config.AuditPullsOff: audit.PullsNone}[a.PullsOrDefault()]
	l, err := audit.New(audit.Options{Store: s.meta, Log: s.log, Queue: a.QueueOrDefault(),
		Retention: a.RetentionOrDefault(), Pulls: pulls, Fold: a.FoldOrDefault(), Turn: s.turns.Every("audit retention", time.Hour)})
	if err != nil {
		return err
	}
	s.audit = l
	return nil
}

// closeAudit writes what the audit log holds, before the database closes.
func (s *Server) closeAudit() error {
	if s.audit == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.audit.Close(ctx)
}

// The audit log as each part's hook, nil when it is off (an interface
// holding a nil *audit.Log would not be nil).
func (s *Server) auditSink() events.Sink {
	if s.audit == nil {
		return nil
	}
	return s.audit
}

func (s *Server) auditLogins() tokenserver.Audit {
	if s.audit == nil {
		return nil
	}
	return s.audit
}

func (s *Server) auditChanges() func(context.Context, accounts.Change) {
	if s.audit == nil {
		return nil
	}
	return s.audit.Changed
}

// auditBasic records a failed login on the registry's Basic auth. A
// successful check is not recorded: every request of a client repeats it.
func (s *Server) auditBasic(ctx context.Context, user string, ip netip.Addr, reason string) {
	if s.audit != nil {
		s.audit.Login(ctx, tokenserver.Login{Account: user, Source: "htpasswd", IP: ip, Reason: reason})
	}
}

func (s *Server) auditAdminRefused() func(context.Context, string, netip.Addr, bool, string) {
	if s.audit == nil {
		return nil
	}
	return s.audit.AdminRefused
}
