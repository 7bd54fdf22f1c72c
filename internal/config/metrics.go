package config

import (
	"errors"
	"fmt"
)

// Metrics configures the Prometheus metrics (docs/observability.md).
type Metrics struct {
	// Enabled collects the metrics and serves /metrics (default off).
	Enabled bool `yaml:"enabled"`
	// Addr, when set, serves /metrics on this address of its own, without
	// authentication (keep it on loopback or a private network). Empty
	// serves it on the main listener, to callers the ACL grants
	// admin:metrics:pull (wharf serve with auth: token), or to anyone with
	// Anonymous. With debug_addr set, /metrics is served there too.
	Addr string `yaml:"addr"`
	// Anonymous lets anyone read /metrics on the main listener.
	Anonymous bool `yaml:"anonymous"`
}

// MetricsOnMain reports whether the main listener serves /metrics, and
// whether it asks for credentials there.
func (c Config) MetricsOnMain() (served, guarded bool) {
	if !c.Metrics.Enabled || c.Metrics.Addr != "" {
		return false, false
	}
	if c.Metrics.Anonymous {
		return true, false
	}
	if c.metricsGuardable() {
		return true, true
	}
	return false, false
}

// metricsGuardable: only wharf serve with token auth has the ACL and the
// logins that decide who may read /metrics on the main listener.
func (c Config) metricsGuardable() bool {
	return c.Role == RoleAllInOne && c.Auth == "token"
}

func (c Config) validateMetrics() []error {
	m := c.Metrics
	var errs []error
	if err := checkListenAddr(m.Addr); err != nil {
		errs = append(errs, fmt.Errorf("metrics.addr: %w", err))
	}
	if !m.Enabled {
		if m.Addr != "" || m.Anonymous {
			errs = append(errs, errors.New("metrics: addr and anonymous have no effect without metrics.enabled: true"))
		}
		return errs
	}
	if m.Addr != "" && m.Anonymous {
		errs = append(errs, errors.New("metrics.anonymous: /metrics on metrics.addr asks for no credentials anyway; anonymous is for the main listener (remove one of the two)"))
	}
	if m.Addr == "" && !m.Anonymous && !c.metricsGuardable() && c.DebugAddr == "" {
		errs = append(errs, fmt.Errorf("metrics: on the main listener, /metrics is guarded by the ACL of wharf serve with auth: token, and this is %s with auth: %s; "+
			"set metrics.addr (for example \"127.0.0.1:9090\") to serve it on an address of its own, or metrics.anonymous: true to let anyone read it", c.Role, c.Auth))
	}
	return errs
}
