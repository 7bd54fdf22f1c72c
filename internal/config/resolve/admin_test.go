package resolve

import (
	"strings"
	"testing"

	"wharf/internal/config"
)

// WHARF_ADMIN_PASSWORD is checked with the other settings, so that a bad
// one stops wharf serve before anything is created.
func TestAdminPassword(t *testing.T) {
	t.Parallel()
	in := Input{Role: config.RoleAllInOne, Flags: map[string]string{}, Environ: []string{config.EnvAdminPassword + "=a long enough password"}}
	c, err := Config(in)
	if err != nil || c.AdminPassword != "a long enough password" {
		t.Errorf("%v, %v; want the variable's password", c.AdminPassword == "", err)
	}
	in.Environ = []string{config.EnvAdminPassword + "=short", "WHARF_LOG_LEVEL=loud"}
	_, err = Config(in)
	if err == nil || !strings.Contains(err.Error(), config.EnvAdminPassword) || !strings.Contains(err.Error(), "log") {
		t.Errorf("%v; want the short password reported with the other problems", err)
	}
}
