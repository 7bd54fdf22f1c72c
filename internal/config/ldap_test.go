package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadLDAP(t *testing.T) {
	t.Parallel()
	got, err := Load(write(t, `ldap_auth:
  addr: ldap.example.com:636
  insecure_tls_skip_verify: false
  ca_certificate: /etc/ssl/ldap-ca.pem
  bind_dn: cn=reader,dc=example,dc=org
  bind_password_file: /run/secrets/ldap
  base: ou=people,dc=example,dc=org
  filter: (&(uid=${account})(objectClass=person))
  labels:
    teams: {attribute: memberOf, parse_cn: true, lower_case: true}
  group_base: ou=groups,dc=example,dc=org
  pool_size: 8
  timeout: 3s
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	want := LDAP{
		Addr: "ldap.example.com:636", TLS: "always", CACertificate: "/etc/ssl/ldap-ca.pem",
		BindDN: "cn=reader,dc=example,dc=org", BindPasswordFile: "/run/secrets/ldap",
		Base: "ou=people,dc=example,dc=org", Filter: "(&(uid=${account})(objectClass=person))",
		Labels:    map[string]LDAPLabel{"teams": {Attribute: "memberOf", ParseCN: true, LowerCase: true}},
		GroupBase: "ou=groups,dc=example,dc=org", GroupFilter: DefaultLDAPGroupFilter, GroupAttribute: "cn", GroupLabel: "groups",
		PoolSize: 8, Timeout: Duration(3 * time.Second),
	}
	if diff := cmp.Diff(want, got.LDAP.WithDefaults()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := Load(write(t, "ldap_auth:\n  adr: x:389\n")); err == nil || !strings.Contains(err.Error(), "adr") {
		t.Errorf("unknown key: %v", err)
	}
}

func TestLDAPDefaults(t *testing.T) {
	t.Parallel()
	d := LDAP{Addr: "ldap.example.com:389"}.WithDefaults()
	if d.TLS != "none" || d.PoolSize != DefaultLDAPPoolSize || d.Timeout != DefaultLDAPTimeout || d.GroupFilter != "" {
		t.Errorf("defaults: %+v", d)
	}
	if d := (LDAP{Addr: "ldap.example.com:636", TLS: "starttls"}).WithDefaults(); d.TLS != "starttls" {
		t.Errorf("an explicit tls was changed: %q", d.TLS)
	}
}

func TestValidateLDAP(t *testing.T) {
	t.Parallel()
	good := LDAP{Addr: "ldap:389", Base: "dc=x", Filter: "(uid=${account})"}
	tests := []struct {
		name   string
		change func(*LDAP)
		want   []string
	}{
		{"good", func(*LDAP) {}, nil},
		{"initial bind as user", func(l *LDAP) { l.InitialBindAsUser, l.BindDN = true, "uid=${account},dc=x" }, nil},
		{"groups", func(l *LDAP) { l.GroupBase, l.GroupFilter = "ou=g,dc=x", "(memberUid=${account})" }, nil},
		{"everything missing", func(l *LDAP) { *l = LDAP{} }, []string{"ldap_auth.addr: required", "ldap_auth.base: required", "ldap_auth.filter: required"}},
		{"scheme in addr", func(l *LDAP) { l.Addr = "ldaps://ldap:636" }, []string{"ldap_auth.addr", "without a scheme"}},
		{"no port", func(l *LDAP) { l.Addr = "ldap" }, []string{"ldap_auth.addr", "host:port"}},
		{"bad port", func(l *LDAP) { l.Addr = "ldap:99999" }, []string{"ldap_auth.addr", "port"}},
		{"tls", func(l *LDAP) { l.TLS = "simple_tls" }, []string{"ldap_auth.tls", "simple_tls"}},
		{"skip verify and CA", func(l *LDAP) { l.InsecureTLSSkipVerify, l.CACertificate = true, "ca.pem" }, []string{"ldap_auth.insecure_tls_skip_verify"}},
		{"filter without account", func(l *LDAP) { l.Filter = "(objectClass=person)" }, []string{"ldap_auth.filter", "${account}"}},
		{"filter unbalanced", func(l *LDAP) { l.Filter = "(uid=${account}" }, []string{"ldap_auth.filter", "parentheses"}},
		{"bind dn without file", func(l *LDAP) { l.BindDN = "cn=r,dc=x" }, []string{"ldap_auth.bind_password_file: required"}},
		{"template without initial bind", func(l *LDAP) { l.BindDN, l.BindPasswordFile = "uid=${account},dc=x", "f" }, []string{"ldap_auth.bind_dn", "initial_bind_as_user"}},
		{"initial bind without template", func(l *LDAP) { l.InitialBindAsUser, l.BindDN = true, "cn=r,dc=x" }, []string{"ldap_auth.bind_dn", "${account}"}},
		{"label without attribute", func(l *LDAP) { l.Labels = map[string]LDAPLabel{"teams": {ParseCN: true}} }, []string{"ldap_auth.labels.teams.attribute: required"}},
		{"group keys without base", func(l *LDAP) { l.GroupFilter, l.GroupLabel, l.GroupLowerCase = "(x=${dn})", "g", true },
			[]string{"ldap_auth.group_filter: needs group_base", "ldap_auth.group_label: needs group_base", "ldap_auth.group_lower_case: needs group_base"}},
		{"group filter constant", func(l *LDAP) { l.GroupBase, l.GroupFilter = "ou=g", "(objectClass=groupOfNames)" }, []string{"ldap_auth.group_filter", "neither"}},
		{"pool and timeout", func(l *LDAP) { l.PoolSize, l.Timeout = -1, -1 }, []string{"ldap_auth.pool_size", "ldap_auth.timeout"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := good
			tc.change(&l)
			c := Default()
			c.LDAP = &l
			err := c.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	c := Default()
	c.Auth, c.LDAP = "htpasswd", &good
	c.Htpasswd.Path = "/x"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "auth: token") {
		t.Errorf("ldap_auth with auth: htpasswd: %v", err)
	}
}
