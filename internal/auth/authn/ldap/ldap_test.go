package ldap_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/authntest"
	"wharf/internal/auth/authn/ldap"
	"wharf/internal/testserver"
)

// directory is one slapd shared by the tests of a function; every backend
// gets its own subtree (ou=runN) so that none sees another's users.
type directory struct {
	*testserver.Slapd
	runs atomic.Int64
}

func startDirectory(t *testing.T) *directory {
	t.Helper()
	return &directory{Slapd: testserver.StartSlapd(t)}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// user is a directory user to seed.
type user struct {
	name, password string
	attrs          []testserver.Attr // beyond uid, cn, sn, userPassword
	groups         []string          // groupOfNames it is a member of
}

// tree is a seeded subtree: ou=people and ou=groups under base.
type tree struct {
	base, people, groups string
}

// seed adds a fresh subtree holding users and their groups.
func (d *directory) seed(t *testing.T, users []user) tree {
	t.Helper()
	n := d.runs.Add(1)
	tr := tree{base: fmt.Sprintf("ou=run%d,%s", n, testserver.SlapdSuffix)}
	tr.people, tr.groups = "ou=people,"+tr.base, "ou=groups,"+tr.base
	entries := []testserver.Entry{
		{DN: tr.base, Attrs: []testserver.Attr{{"objectClass", "organizationalUnit"}, {"ou", fmt.Sprintf("run%d", n)}}},
		{DN: tr.people, Attrs: []testserver.Attr{{"objectClass", "organizationalUnit"}, {"ou", "people"}}},
		{DN: tr.groups, Attrs: []testserver.Attr{{"objectClass", "organizationalUnit"}, {"ou", "groups"}}},
	}
	members := map[string][]string{}
	var groupOrder []string
	for _, u := range users {
		dn := userDN(tr, u.name)
		attrs := []testserver.Attr{{"objectClass", "inetOrgPerson"}, {"uid", u.name}, {"cn", u.name}, {"sn", u.name},
			{"userPassword", testserver.SSHA(u.password)}}
		entries = append(entries, testserver.Entry{DN: dn, Attrs: append(attrs, u.attrs...)})
		for _, g := range u.groups {
			if members[g] == nil {
				groupOrder = append(groupOrder, g)
			}
			members[g] = append(members[g], dn)
		}
	}
	for _, g := range groupOrder {
		attrs := []testserver.Attr{{"objectClass", "groupOfNames"}, {"cn", g}}
		for _, m := range members[g] {
			attrs = append(attrs, testserver.Attr{"member", m})
		}
		entries = append(entries, testserver.Entry{DN: "cn=" + g + "," + tr.groups, Attrs: attrs})
	}
	d.Add(t, entries...)
	return tr
}

// userDN is where seed puts a user (the name escaped as a DN value).
func userDN(tr tree, name string) string {
	return "uid=" + escapeDNValue(name) + "," + tr.people
}

func escapeDNValue(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `,`, `\,`, `+`, `\+`, `"`, `\"`, `<`, `\<`, `>`, `\>`, `;`, `\;`, `=`, `\=`)
	v = r.Replace(v)
	if strings.HasPrefix(v, "#") || strings.HasPrefix(v, " ") {
		v = `\` + v
	}
	return v
}

// fromFixture turns the conformance suite's users into directory users:
// the label "group" becomes group memberships, "org" the attribute o.
func fromFixture(t *testing.T, f authntest.Fixture) []user {
	t.Helper()
	var out []user
	for _, u := range f.Users {
		du := user{name: u.Name, password: u.Password}
		for k, vs := range u.Labels {
			switch k {
			case "group":
				du.groups = append(du.groups, vs...)
			case "org":
				for _, v := range vs {
					du.attrs = append(du.attrs, testserver.Attr{"o", v})
				}
			default:
				t.Fatalf("fixture label %q has no directory counterpart", k)
			}
		}
		out = append(out, du)
	}
	return out
}

// config is a backend configuration for tree: the service account, plain
// LDAP, labels org (from o) and group (from the group search).
func (d *directory) config(t *testing.T, tr tree) ldap.Config {
	t.Helper()
	return ldap.Config{
		Addr: d.Addr, TLS: ldap.TLSNone,
		BindDN: d.ReaderDN, BindPassword: auth.Secret(readFile(t, d.ReaderPasswordFile)),
		Base: tr.people, Filter: "(&(uid=${account})(objectClass=inetOrgPerson))",
		Labels:    map[string]ldap.Label{"org": {Attribute: "o"}},
		GroupBase: tr.groups, GroupFilter: "(member=${dn})", GroupAttribute: "cn", GroupLabel: "group",
		PoolSize: 2, Timeout: 10 * time.Second,
	}
}

func caPEM(t *testing.T, s *testserver.Slapd) []byte {
	t.Helper()
	return []byte(readFile(t, s.CAFile))
}

func newAuthenticator(t *testing.T, cfg ldap.Config) *ldap.Authenticator {
	t.Helper()
	a, err := ldap.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// TestConformance runs the shared suite against a real slapd, in the
// three ways directories are searched: as a service account over plain
// LDAP, anonymously after StartTLS, and as the user over ldaps.
func TestConformance(t *testing.T) {
	d := startDirectory(t)
	flavours := []struct {
		name     string
		contract authntest.Contract
		change   func(*ldap.Config, tree)
	}{
		{"ServiceAccount", authntest.Contract{UnknownUser: authn.NoMatch, Labels: true, Confirms: true}, func(*ldap.Config, tree) {}},
		{"AnonymousStartTLS", authntest.Contract{UnknownUser: authn.NoMatch, Labels: true, Confirms: true}, func(c *ldap.Config, _ tree) {
			c.TLS, c.CAPEM, c.BindDN, c.BindPassword = ldap.TLSStartTLS, caPEM(t, d.Slapd), "", ""
		}},
		{"InitialBindAsUserLDAPS", authntest.Contract{UnknownUser: authn.WrongPassword, Labels: true}, func(c *ldap.Config, tr tree) {
			c.Addr, c.TLS, c.CAPEM = d.TLSAddr, ldap.TLSAlways, caPEM(t, d.Slapd)
			c.InitialBindAsUser, c.BindDN, c.BindPassword = true, "uid=${account},"+tr.people, ""
		}},
	}
	for _, fl := range flavours {
		t.Run(fl.name, func(t *testing.T) {
			t.Parallel()
			authntest.Run(t, fl.contract, func(t *testing.T, f authntest.Fixture) authn.Authenticator {
				tr := d.seed(t, fromFixture(t, f))
				cfg := d.config(t, tr)
				fl.change(&cfg, tr)
				return newAuthenticator(t, cfg)
			})
		})
	}
}

var alice = user{name: "alice", password: "correct horse", groups: []string{"Devs", "web"},
	attrs: []testserver.Attr{{"o", "acme"}, {"seeAlso", "cn=Platform Team,ou=teams,dc=example,dc=org"}, {"seeAlso", "ou=nocn,dc=example,dc=org"}}}
var mallet = user{name: "mallet", password: "mallet-pw"}

// Labels come from attributes (parse_cn and lower_case as docker_auth's)
// and from the group search, through groupOfNames (${dn}) or posixGroup
// (${account}).
func TestLabels(t *testing.T) {
	d := startDirectory(t)
	tr := d.seed(t, []user{alice, mallet})
	d.Add(t, testserver.Entry{DN: "cn=builders," + tr.groups, Attrs: []testserver.Attr{
		{"objectClass", "posixGroup"}, {"cn", "builders"}, {"gidNumber", "1001"}, {"memberUid", "alice"}, {"memberUid", "bob"}}})
	ctx := context.Background()
	tests := []struct {
		name   string
		change func(*ldap.Config)
		want   auth.Labels
	}{
		{"group search by DN", func(c *ldap.Config) { c.Labels = nil }, auth.Labels{"group": {"Devs", "web"}}},
		{"group search by account, lower case", func(c *ldap.Config) {
			c.Labels, c.GroupFilter, c.GroupLowerCase = nil, "(|(member=${dn})(memberUid=${account}))", true
		}, auth.Labels{"group": {"builders", "devs", "web"}}},
		{"attributes", func(c *ldap.Config) {
			c.GroupBase = ""
			c.Labels = map[string]ldap.Label{
				"org":   {Attribute: "o"},
				"teams": {Attribute: "seeAlso", ParseCN: true, LowerCase: true},
				"raw":   {Attribute: "SEEALSO"},
				"none":  {Attribute: "description"},
			}
		}, auth.Labels{"org": {"acme"}, "teams": {"platform team", "ou=nocn,dc=example,dc=org"},
			"raw": {"cn=Platform Team,ou=teams,dc=example,dc=org", "ou=nocn,dc=example,dc=org"}}},
		{"group label merges with an attribute label", func(c *ldap.Config) {
			c.Labels = map[string]ldap.Label{"group": {Attribute: "o"}}
		}, auth.Labels{"group": {"acme", "Devs", "web"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := d.config(t, tr)
			tc.change(&cfg)
			a := newAuthenticator(t, cfg)
			res, labels, err := a.Authenticate(ctx, "alice", "correct horse")
			if err != nil || res != authn.Accepted {
				t.Fatalf("%v, %v", res, err)
			}
			if diff := cmp.Diff(tc.want, labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if res, labels, err := a.Authenticate(ctx, "mallet", "mallet-pw"); err != nil || res != authn.Accepted || len(labels) != 0 {
				t.Errorf("mallet: %v, %v, %v; want accepted without labels", res, labels, err)
			}
		})
	}
}

// Names and DNs built from user input cannot widen the search or point the
// bind elsewhere: filter metacharacters, NUL and DN specials never match.
func TestInjection(t *testing.T) {
	d := startDirectory(t)
	tr := d.seed(t, []user{alice, mallet})
	names := []string{
		"*", "a*", "*)(uid=*", "alice)(uid=*", "alice)(|(uid=*", "*)(objectClass=*", "alice\\2a", `alice\`, "alice\x00", "\x00",
		"alice,ou=people", "alice," + tr.people, "uid=alice," + tr.people, "alice+cn=alice", "#alice", " alice", "alice ",
		"alice;x", `"alice"`, "<alice>", "ALICE", "Alice", "al ice", "alice\n", strings.Repeat("a", 300),
	}
	search := d.config(t, tr)
	initial := search
	initial.InitialBindAsUser, initial.BindDN, initial.BindPassword = true, "uid=${account},"+tr.people, ""
	for _, cfg := range []ldap.Config{search, initial} {
		a := newAuthenticator(t, cfg)
		for _, name := range names {
			for _, pw := range []string{alice.password, mallet.password, "*", ""} {
				res, labels, err := a.Authenticate(context.Background(), name, auth.Secret(pw))
				if res == authn.Accepted || labels != nil || err != nil {
					t.Errorf("initial bind %v: user %q password %q: %v, %v, %v; want a refusal without error",
						cfg.InitialBindAsUser, name, pw, res, labels, err)
				}
			}
		}
		// The escaping keeps real names working.
		if res, _, err := a.Authenticate(context.Background(), "alice", auth.Secret(alice.password)); res != authn.Accepted || err != nil {
			t.Errorf("alice: %v, %v", res, err)
		}
	}
}

// Names with DN and filter specials are users like any other.
func TestSpecialNames(t *testing.T) {
	d := startDirectory(t)
	odd := []user{
		{name: "o'brien, jr.", password: "pw1"},
		{name: "a+b=c", password: "pw2"},
		{name: "star*(paren)\\", password: "pw3"},
		{name: "#hash", password: "pw4"},
	}
	tr := d.seed(t, odd)
	search := d.config(t, tr)
	initial := search
	initial.InitialBindAsUser, initial.BindDN, initial.BindPassword = true, "uid=${account},"+tr.people, ""
	for _, cfg := range []ldap.Config{search, initial} {
		a := newAuthenticator(t, cfg)
		for _, u := range odd {
			if res, _, err := a.Authenticate(context.Background(), u.name, auth.Secret(u.password)); res != authn.Accepted || err != nil {
				t.Errorf("initial bind %v: %q: %v, %v", cfg.InitialBindAsUser, u.name, res, err)
			}
			if res, _, err := a.Authenticate(context.Background(), u.name, "wrong"); res != authn.WrongPassword || err != nil {
				t.Errorf("initial bind %v: %q with a wrong password: %v, %v", cfg.InitialBindAsUser, u.name, res, err)
			}
		}
	}
}

// ldaps and StartTLS verify the server against the configured CA: another
// CA fails with an error, never a login.
func TestTLS(t *testing.T) {
	d := startDirectory(t)
	tr := d.seed(t, []user{alice})
	other := testserver.StartSlapd(t) // its CA did not sign d's certificate
	tests := []struct {
		name   string
		change func(*ldap.Config)
		ok     bool
	}{
		{"ldaps with the CA", func(c *ldap.Config) { c.Addr, c.TLS, c.CAPEM = d.TLSAddr, ldap.TLSAlways, caPEM(t, d.Slapd) }, true},
		{"starttls with the CA", func(c *ldap.Config) { c.TLS, c.CAPEM = ldap.TLSStartTLS, caPEM(t, d.Slapd) }, true},
		{"ldaps with another CA", func(c *ldap.Config) { c.Addr, c.TLS, c.CAPEM = d.TLSAddr, ldap.TLSAlways, caPEM(t, other) }, false},
		{"starttls with another CA", func(c *ldap.Config) { c.TLS, c.CAPEM = ldap.TLSStartTLS, caPEM(t, other) }, false},
		{"ldaps with the system roots", func(c *ldap.Config) { c.Addr, c.TLS = d.TLSAddr, ldap.TLSAlways }, false},
		{"ldaps under another name", func(c *ldap.Config) {
			c.Addr, c.TLS, c.CAPEM = strings.Replace(d.TLSAddr, "127.0.0.1", "127.0.0.2", 1), ldap.TLSAlways, caPEM(t, d.Slapd)
		}, false},
		{"ldaps, verification off", func(c *ldap.Config) {
			c.Addr, c.TLS, c.CAPEM, c.InsecureSkipVerify = d.TLSAddr, ldap.TLSAlways, nil, true
		}, true},
		{"plain LDAP to the ldaps port", func(c *ldap.Config) { c.Addr, c.Timeout = d.TLSAddr, 2*time.Second }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := d.config(t, tr)
			tc.change(&cfg)
			a := newAuthenticator(t, cfg)
			res, _, err := a.Authenticate(context.Background(), "alice", auth.Secret(alice.password))
			if tc.ok && (res != authn.Accepted || err != nil) {
				t.Errorf("%v, %v; want accepted", res, err)
			}
			if !tc.ok && (res == authn.Accepted || err == nil) {
				t.Errorf("%v, %v; want an error", res, err)
			}
		})
	}
}

// An empty password is a wrong password and never reaches the directory as
// a bind (which the directory would take as an anonymous one), in either
// way of binding.
func TestEmptyPasswordNeverBinds(t *testing.T) {
	d := startDirectory(t)
	tr := d.seed(t, []user{alice})
	search := d.config(t, tr)
	initial := search
	initial.InitialBindAsUser, initial.BindDN, initial.BindPassword = true, "uid=${account},"+tr.people, ""
	for _, cfg := range []ldap.Config{search, initial} {
		a := newAuthenticator(t, cfg)
		if res, labels, err := a.Authenticate(context.Background(), "alice", ""); res != authn.WrongPassword || labels != nil || err != nil {
			t.Errorf("initial bind %v: %v, %v, %v; want wrong password", cfg.InitialBindAsUser, res, labels, err)
		}
	}
	log, err := os.ReadFile(d.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	if dn := userDN(tr, "alice"); strings.Contains(strings.ToLower(string(log)), `bind dn="`+strings.ToLower(dn)+`"`) {
		t.Errorf("the directory saw a bind as %s:\n%s", dn, log)
	}
	// The check above can see binds: a real login shows up.
	a := newAuthenticator(t, search)
	if res, _, err := a.Authenticate(context.Background(), "alice", auth.Secret(alice.password)); res != authn.Accepted || err != nil {
		t.Fatalf("%v, %v", res, err)
	}
	log, _ = os.ReadFile(d.LogPath())
	if dn := userDN(tr, "alice"); !strings.Contains(strings.ToLower(string(log)), `bind dn="`+strings.ToLower(dn)+`"`) {
		t.Errorf("the log shows no bind as %s for a real login; the check above proves nothing:\n%s", dn, testserver.Tail(d.LogPath(), 20))
	}
}

// TestConfirm ends the session of a user removed from the directory, and
// gives a confirmed one its groups as they are now.
func TestConfirm(t *testing.T) {
	d := startDirectory(t)
	tr := d.seed(t, []user{alice, mallet})
	a := newAuthenticator(t, d.config(t, tr))
	ctx := context.Background()
	for _, u := range []user{alice, mallet} {
		if res, _, err := a.Authenticate(ctx, u.name, auth.Secret(u.password)); err != nil || res != authn.Accepted {
			t.Fatalf("%s: %v, %v", u.name, res, err)
		}
	}
	d.Modify(t, "dn: "+userDN(tr, "alice")+"\nchangetype: modify\nreplace: o\no: globex\n")
	d.Delete(t, "cn=web,"+tr.groups, userDN(tr, "mallet"))

	res, labels, err := a.Confirm(ctx, "alice", "")
	if err != nil || res != authn.Accepted {
		t.Fatalf("Confirm(alice) = %v, %v", res, err)
	}
	if diff := cmp.Diff(auth.Labels{"group": {"Devs"}, "org": {"globex"}}, labels); diff != "" {
		t.Errorf("alice's labels now (-want +got):\n%s", diff)
	}
	if res, labels, err := a.Confirm(ctx, "mallet", ""); err != nil || res != authn.WrongPassword || labels != nil {
		t.Errorf("Confirm(mallet) after its entry was deleted = %v, %v, %v; want wrong password", res, labels, err)
	}

	asUser := d.config(t, tr)
	asUser.InitialBindAsUser, asUser.BindDN, asUser.BindPassword = true, "uid=${account},"+tr.people, ""
	if newAuthenticator(t, asUser).CanConfirm("") {
		t.Error("CanConfirm with initial_bind_as_user = true; the directory cannot be searched without the user's password")
	}
}
