package config

import (
	"errors"
	"fmt"
	"net/url"
)

// Tracing configures OpenTelemetry traces (docs/observability.md).
type Tracing struct {
	// Enabled traces requests (default off).
	Enabled bool `yaml:"enabled"`
	// Endpoint is the collector's OTLP/HTTP traces URL, for example
	// "http://127.0.0.1:4318/v1/traces".
	Endpoint string `yaml:"endpoint"`
	// SampleRatio is the share of requests traced, 0 to 1 (default 1).
	SampleRatio *float64 `yaml:"sample_ratio"`
	// Headers are sent with every export (a hosted collector's API key):
	// never logged.
	Headers map[string]string `yaml:"headers"`
}

// SampleRatioOrDefault is sample_ratio, 1 when not set.
func (t Tracing) SampleRatioOrDefault() float64 {
	if t.SampleRatio == nil {
		return 1
	}
	return *t.SampleRatio
}

func (t Tracing) validate() []error {
	var errs []error
	if !t.Enabled {
		if t.Endpoint != "" || t.SampleRatio != nil || len(t.Headers) > 0 {
			errs = append(errs, errors.New("tracing: endpoint, sample_ratio and headers have no effect without tracing.enabled: true"))
		}
		return errs
	}
	u, err := url.Parse(t.Endpoint)
	switch {
	case t.Endpoint == "":
		errs = append(errs, errors.New("tracing.endpoint: required with tracing.enabled (an OTLP/HTTP collector, for example \"http://127.0.0.1:4318/v1/traces\")"))
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs = append(errs, fmt.Errorf("tracing.endpoint: %q is not an http:// or https:// URL (for example \"http://127.0.0.1:4318/v1/traces\")", t.Endpoint))
	}
	if r := t.SampleRatioOrDefault(); r < 0 || r > 1 || r != r {
		errs = append(errs, fmt.Errorf("tracing.sample_ratio: %v is not between 0 and 1", r))
	}
	return errs
}
