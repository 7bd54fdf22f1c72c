package config

import (
	"strings"
	"testing"
)

func TestValidateMetrics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(c *Config)
		want    string // "" when valid
		main    bool   // served on the main listener
		guarded bool
	}{
		{"off", func(c *Config) {}, "", false, false},
		{"serve with token auth: the ACL guards it", func(c *Config) { c.Metrics.Enabled = true }, "", true, true},
		{"an address of its own", func(c *Config) { c.Metrics = Metrics{Enabled: true, Addr: "127.0.0.1:9090"} }, "", false, false},
		{"anonymous on the main listener", func(c *Config) { c.Auth = "none"; c.Metrics = Metrics{Enabled: true, Anonymous: true} }, "", true, false},
		{"no ACL and no address", func(c *Config) { c.Auth = "none"; c.Metrics.Enabled = true }, "metrics.addr", false, false},
		{"no ACL, but debug_addr", func(c *Config) { c.Auth = "none"; c.DebugAddr = "127.0.0.1:0"; c.Metrics.Enabled = true }, "", false, false},
		{"bad address", func(c *Config) { c.Metrics = Metrics{Enabled: true, Addr: "9090"} }, "metrics.addr", false, false},
		{"address while off", func(c *Config) { c.Metrics.Addr = "127.0.0.1:9090" }, "metrics.enabled", false, false},
		{"anonymous with an address", func(c *Config) { c.Metrics = Metrics{Enabled: true, Addr: "127.0.0.1:9090", Anonymous: true} }, "metrics.anonymous", false, false},
	}
	for _, tc := range tests {
		c := Default()
		tc.edit(&c)
		if !validates(t, tc.name, c, tc.want) {
			continue
		}
		if main, guarded := c.MetricsOnMain(); main != tc.main || guarded != tc.guarded {
			t.Errorf("%s: MetricsOnMain() = %v, %v; want %v, %v", tc.name, main, guarded, tc.main, tc.guarded)
		}
	}
}

func TestValidateTracing(t *testing.T) {
	t.Parallel()
	half, two := 0.5, 2.0
	tests := []struct {
		name string
		tr   Tracing
		want string // "" when valid
	}{
		{"off", Tracing{}, ""},
		{"on", Tracing{Enabled: true, Endpoint: "http://127.0.0.1:4318/v1/traces", SampleRatio: &half}, ""},
		{"no endpoint", Tracing{Enabled: true}, "tracing.endpoint: required"},
		{"not a URL", Tracing{Enabled: true, Endpoint: "127.0.0.1:4318"}, "not an http://"},
		{"ratio above 1", Tracing{Enabled: true, Endpoint: "https://otel.example.com/v1/traces", SampleRatio: &two}, "tracing.sample_ratio"},
		{"endpoint while off", Tracing{Endpoint: "http://127.0.0.1:4318/v1/traces"}, "tracing.enabled"},
	}
	for _, tc := range tests {
		c := Default()
		c.Tracing = tc.tr
		validates(t, tc.name, c, tc.want)
	}
	if r := (Tracing{}).SampleRatioOrDefault(); r != 1 {
		t.Errorf("default sample ratio %v; want 1", r)
	}
}

// validates checks c.Validate against want ("" for valid, else a part of
// the error) and reports whether c is valid.
func validates(t *testing.T, name string, c Config, want string) bool {
	t.Helper()
	err := c.Validate()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: %v; want valid", name, err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("%s: %v; want an error naming %s", name, err, want)
	}
	return err == nil
}
