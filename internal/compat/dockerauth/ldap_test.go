package dockerauth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/config"
)

// ldapAuth is docker_auth's LDAP example as its users write it: no users
// map, every ldap_auth key docker_auth reads.
const ldapAuth = `server:
  addr: ":5001"
  certificate: /ssl/auth.crt
  key: /ssl/auth.key
token:
  issuer: "Acme auth server"
  expiration: 900
ldap_auth:
  addr: ldap.example.com:636
  tls: always
  insecure_tls_skip_verify: false
  ca_certificate: /ssl/ldap-ca.pem
  bind_dn: cn=reader,dc=example,dc=com
  bind_password_file: /run/secrets/ldap
  initial_bind_as_user: false
  base: o=example.com
  filter: (&(uid=${account})(objectClass=person))
  labels:
    groups:
      attribute: memberOf
      parse_cn: true
      lower_case: true
    title:
      attribute: title
acl:
  - match: {account: "/.+/", labels: {groups: admins}}
    actions: ["*"]
`

func TestLoadLDAP(t *testing.T) {
	t.Parallel()
	got, err := Load(writeConfig(t, ldapAuth), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &config.LDAP{
		Addr: "ldap.example.com:636", TLS: "always", CACertificate: "/ssl/ldap-ca.pem",
		BindDN: "cn=reader,dc=example,dc=com", BindPasswordFile: "/run/secrets/ldap",
		Base: "o=example.com", Filter: "(&(uid=${account})(objectClass=person))",
		Labels: map[string]config.LDAPLabel{
			"groups": {Attribute: "memberOf", ParseCN: true, LowerCase: true},
			"title":  {Attribute: "title"},
		},
	}
	if diff := cmp.Diff(want, got.LDAP); diff != "" {
		t.Errorf("ldap_auth (-want +got):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("the translated config does not validate: %v", err)
	}

	// wharf's additions are read from the same section.
	ext := strings.Replace(ldapAuth, "  labels:\n", `  group_base: ou=groups,o=example.com
  group_filter: (member=${dn})
  group_attribute: cn
  group_label: teams
  group_lower_case: true
  pool_size: 2
  timeout: 3s
  labels:
`, 1)
	got, err = Load(writeConfig(t, ext), nil)
	if err != nil {
		t.Fatal(err)
	}
	l := got.LDAP
	if l.GroupBase != "ou=groups,o=example.com" || l.GroupFilter != "(member=${dn})" || l.GroupAttribute != "cn" ||
		l.GroupLabel != "teams" || !l.GroupLowerCase || l.PoolSize != 2 || l.Timeout != config.Duration(3*time.Second) {
		t.Errorf("wharf's keys: %+v", l)
	}
}

func TestLoadLDAPErrors(t *testing.T) {
	t.Parallel()
	with := func(old, repl string) string { return strings.Replace(ldapAuth, old, repl, 1) }
	tests := []struct {
		name, body string
		is         error
		want       []string
	}{
		{"unknown key", with("  base:", "  bsae: x\n  base:"), ErrUnknownKey, []string{"line 16", "unknown key ldap_auth.bsae (did you mean base?)"}},
		{"old method key", with("  tls: always", "  method: simple_tls"), ErrUnknownKey, []string{"line 10", "ldap_auth.method", "simple_tls → always"}},
		{"unknown label key", with("      parse_cn: true", "      parse_dn: true"), ErrUnknownKey, []string{"line 21", "ldap_auth.labels.groups.parse_dn"}},
		{"labels as a list", with("  labels:\n", "  labels: [memberOf]\n  x_labels:\n"), nil, []string{"ldap_auth.labels: must be a mapping"}},
		{"quoted boolean", with("insecure_tls_skip_verify: false", "insecure_tls_skip_verify: \"no\""), nil, []string{"line 11", "ldap_auth.insecure_tls_skip_verify"}},
		{"bad timeout", with("  base:", "  timeout: soon\n  base:"), nil, []string{"ldap_auth.timeout", "soon"}},
		{"section as a value", "server: {addr: \":5001\", certificate: c, key: k}\ntoken: {issuer: i, expiration: 900}\nldap_auth: yes\nacl: []\n",
			nil, []string{"line 3", "ldap_auth: must be a mapping"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(writeConfig(t, tc.body), nil)
			if err == nil {
				t.Fatalf("loaded; want an error mentioning %q", tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error does not wrap %v:\n%v", tc.is, err)
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not mention %q:\n%v", s, err)
				}
			}
		})
	}
	// Values are checked by config.Validate, naming docker_auth's keys.
	c, err := Load(writeConfig(t, with("  filter: (&(uid=${account})(objectClass=person))\n", "  filter: (objectClass=person)\n")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "ldap_auth.filter") {
		t.Errorf("Validate: %v; want ldap_auth.filter named", err)
	}
}
