package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Defaults and bounds of the external backends.
const (
	// DefaultExtTimeout bounds one run of an external program or one
	// webhook call when no timeout is configured.
	DefaultExtTimeout = 10 * time.Second
	// MaxExtTimeout is the longest timeout accepted: a client waits for the
	// answer while it runs.
	MaxExtTimeout = 5 * time.Minute
	// DefaultWebhookMaxResponse bounds a webhook's answer (bytes).
	DefaultWebhookMaxResponse = 64 << 10
	// MaxWebhookMaxResponse is the largest max_response_size accepted.
	MaxWebhookMaxResponse = 16 << 20
)

// ExtAuth configures an external program that authenticates users
// (docker_auth's ext_auth): it reads "USER PASSWORD" on stdin and answers
// with its exit code (0 accepted, 1 denied, 2 not its user, anything else
// an error) and, on 0, optionally {"labels": {...}} on stdout.
type ExtAuth struct {
	// Command is the program: a path, or a name looked up in PATH.
	Command string `yaml:"command"`
	// Args are its arguments, as given (no shell).
	Args []string `yaml:"args"`
	// Timeout bounds one run; the program's whole process group is killed
	// when it expires (default 10s).
	Timeout Duration `yaml:"timeout"`
	// Env names variables of wharf's environment passed to the program
	// besides PATH, HOME, USER, LOGNAME, LANG, LC_ALL, LC_CTYPE, TZ and
	// TMPDIR. Nothing else is passed, so that secrets in wharf's
	// environment (WHARF_ADMIN_PASSWORD, cloud keys) stay there.
	Env []string `yaml:"env"`
}

// ExtAuthz configures an external program that authorizes requests
// (docker_auth's ext_authz): it reads the request as JSON on stdin and
// answers with its exit code (0 allowed, 1 denied, anything else an error).
// Its keys are ExtAuth's.
type ExtAuthz ExtAuth

// Webhook configures an HTTP endpoint that authenticates users or
// authorizes requests: wharf POSTs a JSON document and expects a JSON
// answer (docs/auth.md has both schemas).
type Webhook struct {
	// URL is the endpoint, https:// (or http:// on a trusted network).
	URL string `yaml:"url"`
	// Timeout bounds one call (default 10s).
	Timeout Duration `yaml:"timeout"`
	// CACertificate is a PEM bundle trusted for the endpoint's HTTPS
	// certificate instead of the system roots.
	CACertificate string `yaml:"ca_certificate"`
	// SecretHeader and SecretFile, together, send a header (for example
	// Authorization) whose value is the content of the file, so that the
	// endpoint can tell wharf from other callers. The value is never
	// logged.
	SecretHeader string `yaml:"secret_header"`
	SecretFile   string `yaml:"secret_file"`
	// MaxResponseSize bounds the answer in bytes (default 64 KiB).
	MaxResponseSize int64 `yaml:"max_response_size"`
}

// TimeoutOrDefault is the configured timeout, or DefaultExtTimeout.
func (e ExtAuth) TimeoutOrDefault() time.Duration { return orDefault(e.Timeout) }

// TimeoutOrDefault is the configured timeout, or DefaultExtTimeout.
func (e ExtAuthz) TimeoutOrDefault() time.Duration { return orDefault(e.Timeout) }

// TimeoutOrDefault is the configured timeout, or DefaultExtTimeout.
func (w Webhook) TimeoutOrDefault() time.Duration { return orDefault(w.Timeout) }

// MaxResponseOrDefault is the configured answer bound, or
// DefaultWebhookMaxResponse.
func (w Webhook) MaxResponseOrDefault() int64 {
	if w.MaxResponseSize <= 0 {
		return DefaultWebhookMaxResponse
	}
	return w.MaxResponseSize
}

func orDefault(d Duration) time.Duration {
	if d <= 0 {
		return DefaultExtTimeout
	}
	return d.Std()
}

// validateExt checks ext_auth, ext_authz, webhook_auth and webhook_authz.
func (c Config) validateExt() []error {
	var errs []error
	if c.ExtAuth != nil {
		errs = append(errs, validateProgram("ext_auth", *c.ExtAuth)...)
	}
	if c.ExtAuthz != nil {
		errs = append(errs, validateProgram("ext_authz", ExtAuth(*c.ExtAuthz))...)
	}
	if c.WebhookAuth != nil {
		errs = append(errs, validateWebhook("webhook_auth", *c.WebhookAuth)...)
	}
	if c.WebhookAuthz != nil {
		errs = append(errs, validateWebhook("webhook_authz", *c.WebhookAuthz)...)
	}
	if (c.ExtAuth != nil || c.WebhookAuth != nil || c.ExtAuthz != nil || c.WebhookAuthz != nil) && c.Auth != "token" {
		errs = append(errs, fmt.Errorf("auth: external backends (ext_auth, ext_authz, webhook_auth, webhook_authz) need auth: token, not %q", c.Auth))
	}
	return errs
}

func validateProgram(key string, p ExtAuth) []error {
	var errs []error
	switch {
	case strings.TrimSpace(p.Command) == "":
		errs = append(errs, fmt.Errorf("%s.command: required: the program to run (a path, or a name in PATH)", key))
	case strings.ContainsRune(p.Command, 0):
		errs = append(errs, fmt.Errorf("%s.command: contains a NUL byte", key))
	}
	for i, a := range p.Args {
		if strings.ContainsRune(a, 0) {
			errs = append(errs, fmt.Errorf("%s.args[%d]: contains a NUL byte", key, i))
		}
	}
	errs = append(errs, validateTimeout(key, p.Timeout)...)
	for i, name := range p.Env {
		if !envName(name) {
			errs = append(errs, fmt.Errorf("%s.env[%d]: %q is not a variable name (letters, digits and _, not starting with a digit; names only, no values)", key, i, name))
		}
	}
	return errs
}

func validateTimeout(key string, d Duration) []error {
	switch {
	case d < 0:
		return []error{fmt.Errorf("%s.timeout: must be positive (for example \"10s\")", key)}
	case d.Std() > MaxExtTimeout:
		return []error{fmt.Errorf("%s.timeout: %s is longer than the %s a client can be kept waiting", key, d.Std(), MaxExtTimeout)}
	}
	return nil
}

func validateWebhook(key string, w Webhook) []error {
	var errs []error
	switch u, err := url.Parse(w.URL); {
	case w.URL == "":
		errs = append(errs, fmt.Errorf("%s.url: required: the endpoint to POST to (for example \"https://auth.internal/wharf\")", key))
	case err != nil:
		errs = append(errs, fmt.Errorf("%s.url: %q is not a URL", key, w.URL))
	case u.Scheme != "https" && u.Scheme != "http":
		errs = append(errs, fmt.Errorf("%s.url: the scheme must be https or http, not %q", key, u.Scheme))
	case u.Host == "":
		errs = append(errs, fmt.Errorf("%s.url: no host in %q", key, w.URL))
	case u.User != nil:
		errs = append(errs, fmt.Errorf("%s.url: credentials in the URL would be logged; use secret_header and secret_file", key))
	case u.Fragment != "":
		errs = append(errs, fmt.Errorf("%s.url: a fragment (#%s) is never sent; remove it", key, u.Fragment))
	}
	errs = append(errs, validateTimeout(key, w.Timeout)...)
	switch {
	case (w.SecretHeader == "") != (w.SecretFile == ""):
		errs = append(errs, fmt.Errorf("%s: secret_header and secret_file go together: the header's name and the file holding its value", key))
	case w.SecretHeader != "" && !headerName(w.SecretHeader):
		errs = append(errs, fmt.Errorf("%s.secret_header: %q is not an HTTP header name", key, w.SecretHeader))
	}
	if w.MaxResponseSize < 0 || w.MaxResponseSize > MaxWebhookMaxResponse {
		errs = append(errs, fmt.Errorf("%s.max_response_size: %d is not between 1 and %d bytes (0 means %d)", key, w.MaxResponseSize, MaxWebhookMaxResponse, DefaultWebhookMaxResponse))
	}
	return errs
}

// envName accepts POSIX variable names.
func envName(s string) bool {
	if s == "" || ('0' <= s[0] && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// headerName accepts RFC 9110 token characters.
func headerName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
