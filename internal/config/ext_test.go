package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadExtSections(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "wharf.yml")
	doc := `ext_auth:
  command: /usr/local/bin/check-login
  args: [--realm, corp]
  timeout: 3s
  env: [LDAP_URI]
ext_authz:
  command: check-access
webhook_auth:
  url: https://hooks.internal/login
  ca_certificate: /etc/wharf/hooks-ca.pem
  secret_header: Authorization
  secret_file: /run/secrets/hook
webhook_authz:
  url: http://127.0.0.1:9000/authz
  timeout: 2
  max_response_size: 4096
`
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.ExtAuth.Command != "/usr/local/bin/check-login" || len(c.ExtAuth.Args) != 2 || c.ExtAuth.TimeoutOrDefault() != 3*time.Second {
		t.Errorf("ext_auth: %+v", c.ExtAuth)
	}
	if c.ExtAuthz.TimeoutOrDefault() != DefaultExtTimeout {
		t.Errorf("ext_authz timeout: %v", c.ExtAuthz.TimeoutOrDefault())
	}
	if c.WebhookAuth.MaxResponseOrDefault() != DefaultWebhookMaxResponse || c.WebhookAuth.SecretHeader != "Authorization" {
		t.Errorf("webhook_auth: %+v", c.WebhookAuth)
	}
	if c.WebhookAuthz.TimeoutOrDefault() != 2*time.Second || c.WebhookAuthz.MaxResponseOrDefault() != 4096 {
		t.Errorf("webhook_authz: %+v", c.WebhookAuthz)
	}
}

func TestLoadExtUnknownKey(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "wharf.yml")
	if err := os.WriteFile(p, []byte("webhook_auth:\n  url: https://x/\n  secret: abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "secret") {
		t.Fatalf("Load: %v; want an error naming line 3 and the key", err)
	}
}

func TestValidateExt(t *testing.T) {
	t.Parallel()
	c := Default()
	c.ExtAuth = &ExtAuth{Args: []string{"a\x00"}, Timeout: Duration(time.Hour), Env: []string{"1BAD", "A=B"}}
	c.ExtAuthz = &ExtAuthz{Command: "x", Timeout: -1}
	c.WebhookAuth = &Webhook{URL: "https://user:pw@hooks/x", SecretHeader: "X-Key", MaxResponseSize: 1 << 30}
	c.WebhookAuthz = &Webhook{URL: "ftp://hooks/x", SecretHeader: "Bad Header", SecretFile: "/s"}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted bad external backends")
	}
	for _, want := range []string{
		"ext_auth.command: required",
		"ext_auth.args[0]: contains a NUL byte",
		"ext_auth.timeout:",
		`ext_auth.env[0]: "1BAD"`,
		`ext_auth.env[1]: "A=B"`,
		"ext_authz.timeout: must be positive",
		"webhook_auth.url: credentials in the URL",
		"webhook_auth: secret_header and secret_file go together",
		"webhook_auth.max_response_size",
		`webhook_authz.url: the scheme must be https or http, not "ftp"`,
		`webhook_authz.secret_header: "Bad Header"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error does not say %q:\n%v", want, err)
		}
	}
	for _, u := range []string{"", "https://", "https://h/x#frag"} {
		c := Default()
		c.WebhookAuth = &Webhook{URL: u}
		if c.Validate() == nil {
			t.Errorf("webhook_auth.url %q accepted", u)
		}
	}
	c = Default()
	c.Auth = "htpasswd"
	c.Htpasswd.Path = "/x"
	c.ExtAuth = &ExtAuth{Command: "x"}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "need auth: token") {
		t.Errorf("ext_auth with auth: htpasswd: %v", err)
	}
}
