package authstack

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wharf/internal/auth/external/externaltest"
	"wharf/internal/config"
)

func TestExternalBackends(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o700); err != nil {
			t.Fatal(err)
		}
		return p
	}
	script := externaltest.Script(t, "check.sh", "exit 2\n")
	secret := write("secret", "Bearer abc\n")
	build := func(cfg config.Config) (chains, error) {
		c, closers, err := buildSome(t.Context(), cfg, log, "ext_auth", "webhook_auth", "ext_authz", "webhook_authz")
		if err == nil && len(closers) != 0 {
			t.Errorf("external backends opened %d closers; want none", len(closers))
		}
		return c, err
	}

	if c, err := build(config.Default()); err != nil || c.authn != nil || c.authz != nil {
		t.Errorf("nothing configured: %v, %v, %v; want nil", c.authn, c.authz, err)
	}

	cfg := config.Default()
	cfg.ExtAuth = &config.ExtAuth{Command: script}
	cfg.ExtAuthz = &config.ExtAuthz{Command: script}
	cfg.WebhookAuth = &config.Webhook{URL: "https://hooks.internal/login?token=q", SecretHeader: "Authorization", SecretFile: secret}
	cfg.WebhookAuthz = &config.Webhook{URL: "https://hooks.internal/authz"}
	c, err := build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a := c.authn; len(a) != 2 || a[0].Name() != "ext_auth" || a[1].Name() != "webhook_auth" {
		t.Fatalf("authenticators %v; want ext_auth then webhook_auth", a)
	}
	if z := c.authz; len(z) != 2 || z[0].Name() != "ext_authz" || z[1].Name() != "webhook_authz" {
		t.Fatalf("authorizers %v; want ext_authz then webhook_authz", z)
	}

	for name, tc := range map[string]struct {
		mutate func(*config.Config)
		want   string
	}{
		"missing program":    {func(c *config.Config) { c.ExtAuth.Command = filepath.Join(dir, "nope") }, "ext_auth.command"},
		"missing ext_authz":  {func(c *config.Config) { c.ExtAuthz.Command = "no-such-program-anywhere" }, "ext_authz.command"},
		"missing secret":     {func(c *config.Config) { c.WebhookAuth.SecretFile = filepath.Join(dir, "nope") }, "webhook_auth.secret_file"},
		"two-line secret":    {func(c *config.Config) { c.WebhookAuth.SecretFile = write("two", "a\nb\n") }, "one line"},
		"empty secret":       {func(c *config.Config) { c.WebhookAuth.SecretFile = write("empty", "\n") }, "one line"},
		"missing CA":         {func(c *config.Config) { c.WebhookAuthz.CACertificate = filepath.Join(dir, "nope") }, "webhook_authz.ca_certificate"},
		"CA that is not PEM": {func(c *config.Config) { c.WebhookAuthz.CACertificate = secret }, "no PEM certificate"},
	} {
		c := cfg
		ea, eaz, wa, waz := *cfg.ExtAuth, *cfg.ExtAuthz, *cfg.WebhookAuth, *cfg.WebhookAuthz
		c.ExtAuth, c.ExtAuthz, c.WebhookAuth, c.WebhookAuthz = &ea, &eaz, &wa, &waz
		tc.mutate(&c)
		_, err := build(c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want an error mentioning %q", name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "Bearer abc") {
			t.Errorf("%s: the error shows the secret: %v", name, err)
		}
	}
}
