package auth

import "log/slog"

// Secret is a password, token or key that must never reach a log, an error
// message or a response. Its String, GoString and LogValue print "***".
type Secret string

// String hides the secret.
func (Secret) String() string { return "***" }

// GoString hides the secret from %#v.
func (Secret) GoString() string { return `auth.Secret("***")` }

// LogValue hides the secret from log/slog.
func (Secret) LogValue() slog.Value { return slog.StringValue("***") }

// Reveal returns the secret's value, for the one place that must compare or
// hash it.
func (s Secret) Reveal() string { return string(s) }

// TokenPrefix starts every access token Wharf makes (wharf_<id>_<secret>),
// so that a login can tell a token from a password without a lookup; no
// password may start with it.
const TokenPrefix = "wharf_"
