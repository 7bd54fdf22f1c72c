package ldap

import (
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"
)

func TestParseUserFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		filter  string
		want    []accountAssertion
		wantErr string
	}{
		{"(uid=${account})", []accountAssertion{{"uid", sentinel}}, ""},
		{"(&(uid=${account})(objectClass=person))", []accountAssertion{{"uid", sentinel}}, ""},
		{"(|(uid=${account})(mail=${account}@example.org))", []accountAssertion{{"uid", sentinel}, {"mail", sentinel + "@example.org"}}, ""},
		{"(&(sAMAccountName=${account})(!(cn=${account})))", []accountAssertion{{"sAMAccountName", sentinel}}, ""},
		{"(objectClass=person)", nil, "does not contain ${account}"},
		{"(uid=${account}*)", nil, "equality match"},
		{"(!(uid=${account}))", nil, "equality match"},
		{"(uid=${account}", nil, "(uid=${account}"},
	}
	for _, tc := range tests {
		got, err := parseUserFilter(tc.filter)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.filter, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.filter, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(accountAssertion{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.filter, diff)
		}
	}
}

func TestHoldsAccount(t *testing.T) {
	t.Parallel()
	as, err := parseUserFilter("(|(uid=${account})(mail=${account}@example.org))")
	if err != nil {
		t.Fatal(err)
	}
	e := ldap.NewEntry("uid=alice,dc=x", map[string][]string{"UID": {"alice"}, "mail": {"Alice.Smith@example.org"}})
	for name, want := range map[string]bool{"alice": true, "Alice": false, "alice ": false, "Alice.Smith": true, "alice.smith": false, "": false} {
		if got := holdsAccount(e, as, name); got != want {
			t.Errorf("holdsAccount(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestEscaping(t *testing.T) {
	t.Parallel()
	if got, want := userFilter("(&(uid=${account})(x=${account}))", "*)(uid=*"), `(&(uid=\2a\29\28uid=\2a)(x=\2a\29\28uid=\2a))`; got != want {
		t.Errorf("userFilter = %s, want %s", got, want)
	}
	if got, want := groupFilter("(|(member=${dn})(memberUid=${account}))", "uid=a\\2c(b),dc=x", "a*"), `(|(member=uid=a\5c2c\28b\29,dc=x)(memberUid=a\2a))`; got != want {
		t.Errorf("groupFilter = %s, want %s", got, want)
	}
	if got, want := bindDN("uid=${account},ou=people,dc=x", "a,ou=admins+cn=x"), `uid=a\,ou=admins\+cn=x,ou=people,dc=x`; got != want {
		t.Errorf("bindDN = %s, want %s", got, want)
	}
}

func TestPlausibleName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{"alice": true, "zoë": true, "max.len@example.com": true, "a b": true,
		"": false, "a\x00": false, "a\nb": false, "\xff": false, strings.Repeat("a", maxNameLen+1): false} {
		if got := plausibleName(name); got != want {
			t.Errorf("plausibleName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestFirstCN(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"cn=Admins,ou=groups,dc=x":      "Admins",
		"CN=Domain Users,CN=Users,DC=x": "Domain Users",
		"ou=x,cn=late,dc=x":             "late",
		"ou=nocn,dc=x":                  "ou=nocn,dc=x",
		"not a dn":                      "not a dn",
		`cn=a\,b,dc=x`:                  "a,b",
	} {
		if got := firstCN(in); got != want {
			t.Errorf("firstCN(%q) = %q, want %q", in, got, want)
		}
	}
}

// A user name never changes the shape of the filter: the compiled filter is
// one equality match whose value is exactly the name.
func FuzzUserFilter(f *testing.F) {
	for _, s := range []string{"alice", "*", ")(uid=*", "\x00", "zoë", `\2a`, "a\\", "(|(a=b))"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p, err := ldap.CompileFilter(userFilter("(uid=${account})", name))
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if p.Tag != ldap.FilterEqualityMatch || len(p.Children) != 2 {
			t.Fatalf("%q: not one equality match", name)
		}
		if got := p.Children[1].Data.String(); got != name {
			t.Fatalf("value %q, want %q", got, name)
		}
	})
}

func FuzzBindDN(f *testing.F) {
	for _, s := range []string{"alice", "a,b", "#x", " x ", "a+b=c", "\x00", `\`, "zoë"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if !plausibleName(name) {
			return
		}
		dn, err := ldap.ParseDN(bindDN("uid=${account},dc=example,dc=org", name))
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if len(dn.RDNs) != 3 || len(dn.RDNs[0].Attributes) != 1 || dn.RDNs[0].Attributes[0].Value != name {
			t.Fatalf("%q: the name escaped its RDN: %v", name, dn)
		}
	})
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	good := Config{Addr: "ldap:389", TLS: TLSNone, Base: "dc=x", Filter: "(uid=${account})", PoolSize: 1, Timeout: 1e9}
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string
	}{
		{"addr", func(c *Config) { c.Addr = "ldap" }, "host:port"},
		{"tls", func(c *Config) { c.TLS = "simple_tls" }, "tls"},
		{"pool", func(c *Config) { c.PoolSize = 0 }, "pool size"},
		{"timeout", func(c *Config) { c.Timeout = 0 }, "timeout"},
		{"base", func(c *Config) { c.Base = "not a dn" }, "base"},
		{"filter", func(c *Config) { c.Filter = "(uid=${account}" }, "filter"},
		{"filter substring", func(c *Config) { c.Filter = "(cn=*${account}*)" }, "equality match"},
		{"bind dn", func(c *Config) { c.BindDN, c.BindPassword = "nonsense", "x" }, "bind_dn"},
		{"bind without password", func(c *Config) { c.BindDN = "cn=reader,dc=x" }, "anonymous bind"},
		{"initial bind template", func(c *Config) { c.InitialBindAsUser, c.BindDN = true, "cn=reader,dc=x" }, "${account}"},
		{"label", func(c *Config) { c.Labels = map[string]Label{"g": {}} }, "label"},
		{"group filter", func(c *Config) {
			c.GroupBase, c.GroupFilter, c.GroupAttribute, c.GroupLabel = "dc=g", "(member=${dn}", "cn", "groups"
		}, "group_filter"},
		{"group filter constant", func(c *Config) {
			c.GroupBase, c.GroupFilter, c.GroupAttribute, c.GroupLabel = "dc=g", "(cn=x)", "cn", "groups"
		}, "neither"},
		{"ca", func(c *Config) { c.CAPEM = []byte("not pem") }, "ca_certificate"},
	}
	for _, tc := range tests {
		c := good
		tc.change(&c)
		if _, err := New(c); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: %v; want an error about %q", tc.name, err, tc.wantErr)
		}
	}
	if _, err := New(good); err != nil {
		t.Errorf("good config: %v", err)
	}
}

func TestDisabled(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		attrs map[string][]string
		want  bool
	}{
		{nil, false},
		{map[string][]string{"userAccountControl": {"512"}}, false},  // a normal account
		{map[string][]string{"userAccountControl": {"514"}}, true},   // 512 | ACCOUNTDISABLE
		{map[string][]string{"UserAccountControl": {"66050"}}, true}, // any case, more flags
		{map[string][]string{"userAccountControl": {"junk"}}, false}, // not a number: no flag
		{map[string][]string{"pwdAccountLockedTime": {"000001010000Z"}}, true},
		{map[string][]string{"nsAccountLock": {"TRUE"}}, true},
		{map[string][]string{"nsAccountLock": {"false"}}, false},
	} {
		if got := disabled(ldap.NewEntry("uid=a,dc=x", tc.attrs)); got != tc.want {
			t.Errorf("disabled(%v) = %v, want %v", tc.attrs, got, tc.want)
		}
	}
}
