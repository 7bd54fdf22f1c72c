package config

import (
	"fmt"

	"wharf/internal/auth"
	"wharf/internal/auth/password"
)

// EnvAdminPassword is the variable that gives `wharf serve`'s built-in
// admin its first password.
const EnvAdminPassword = "WHARF_ADMIN_PASSWORD"

// SetAdminPassword sets AdminPassword from the environment's value; resolve
// calls it, which knows no auth type.
func (c *Config) SetAdminPassword(v string) { c.AdminPassword = auth.Secret(v) }

// validateAdminPassword applies the password rules to WHARF_ADMIN_PASSWORD
// with the other settings, so that a bad one stops `wharf serve` before a
// database, a key or a certificate is created. A value wrapped in quotes
// is refused: compose's list form (- VAR="value") passes them on, and they
// would become part of the password. The messages never hold the value.
func (c Config) validateAdminPassword() []error {
	pw := c.AdminPassword.Reveal()
	if pw == "" {
		return nil
	}
	if len(pw) >= 2 && (pw[0] == '"' || pw[0] == '\'') && pw[len(pw)-1] == pw[0] {
		return []error{fmt.Errorf("%s: the value is wrapped in %c quotes, which would become part of the password (compose's `- VAR=\"value\"` list form keeps them); remove the quotes", EnvAdminPassword, pw[0])}
	}
	if p := password.Problem(c.AdminPassword); p != "" {
		return []error{fmt.Errorf("%s: %s", EnvAdminPassword, p)}
	}
	return nil
}
