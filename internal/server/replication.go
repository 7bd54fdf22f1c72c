package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"

	"github.com/google/go-containerregistry/pkg/name"

	"wharf/internal/adminapi"
	"wharf/internal/authstack"
	"wharf/internal/config"
	"wharf/internal/events"
	"wharf/internal/replicate"
)

// newReplication translates replication: for the runner; nil without
// rules. local is this registry's API as the runner reaches it.
func (s *Server) newReplication(local http.Handler) (*replicate.Runner, error) {
	var specs []replicate.Spec
	for i, r := range s.cfg.Replication.Rules {
		r = r.WithDefaults()
		c, err := authstack.UpstreamClient(i, config.Upstream{URL: r.URL, Username: r.Username, PasswordFile: r.PasswordFile,
			CAFile: r.CAFile, InsecureSkipVerify: r.InsecureSkipVerify})
		if err != nil {
			return nil, fmt.Errorf("server: replication.rules[%d] (%s): %w", i, r.Name, err)
		}
		u, _ := url.Parse(r.URL) // validated
		var opts []name.Option
		if u.Scheme == "http" {
			opts = append(opts, name.Insecure)
		}
		reg, err := name.NewRegistry(u.Host, opts...)
		if err != nil {
			return nil, fmt.Errorf("server: replication.rules[%d].url: %w", i, err)
		}
		specs = append(specs, replicate.Spec{
			Rule:   replicate.Rule{Name: r.Name, Pull: r.Direction == config.ReplicatePull, Repositories: r.Repositories, Tags: r.Tags, Prefix: r.Prefix},
			Remote: replicate.Remote{Registry: reg, Auth: c.Keychain(), Transport: c.Transport()},
			OnPush: *r.OnPush, Schedule: r.Schedule.Std(),
		})
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
