package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"

	"wharf/internal/adminapi"
	"wharf/internal/authstack"
	"wharf/internal/events"
	"wharf/internal/replicate"
)

// newReplication translates replication: for the runner; nil without
// rules. local is this registry's API as the runner reaches it.
func (s *Server) newReplication(local http.Handler) (*replicate.Runner, error) {
	specs, err := authstack.ReplicationSpecs(s.cfg)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if len(specs) == 0 {
		return nil, nil
	}
	return replicate.NewRunner(replicate.RunnerOptions{
		Rules: specs, Local: local, Queue: s.meta, Turn: s.turns.Every,
		// As notifications': replicas differ by host and port, and a
		// restart (kill -9 included) takes its rules' queues back at once.
		Owner: queueOwner(s.cfg.Addr),
		Log:   s.log.With("component", "replication"),
	})
}

// replicationSink is the runner as a sink of the OCI API's events; nil
// without rules.
func (s *Server) replicationSink() events.Sink {
	if s.replication == nil {
		return nil
	}
	return s.replication
}

// runReplication starts the rules; requests still draining after ctx ends
// record pushes, which Close queues.
func (s *Server) runReplication(ctx context.Context) {
	if s.replication != nil {
		s.replication.Run(context.WithoutCancel(ctx))
	}
}

// queueOwner names this process in the queues' leases: its host and
// listening port.
func queueOwner(addr string) string {
	host, _ := os.Hostname()
	_, port, _ := net.SplitHostPort(addr)
	return net.JoinHostPort(host, port)
}

// adminReplication is the admin API's view of the runner; nil without
// rules.
func (s *Server) adminReplication() *adminapi.Replication {
	if s.replication == nil {
		return nil
	}
	return &adminapi.Replication{
		Status: func(ctx context.Context) (any, error) { return replicate.Status(ctx, s.meta, s.replication.Specs()) },
		Run: func(ctx context.Context, rule string) (any, error) {
			res, err := s.replication.RunRule(ctx, rule)
			if errors.Is(err, replicate.ErrNoRule) {
				return nil, fmt.Errorf("%w: %w", adminapi.ErrNoRule, err)
			}
			return res, err
		},
	}
}
