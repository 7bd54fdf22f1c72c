package authz

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"wharf/internal/auth"
)

// req builds a request for account on repository name.
func req(account, name string, actions ...string) auth.Request {
	return auth.Request{
		Identity: auth.Identity{Account: account},
		Service:  "registry.example.com",
		IP:       netip.MustParseAddr("192.0.2.10"),
		Access:   auth.Access{Type: auth.TypeRepository, Name: name, Actions: actions},
	}
}

func withIP(r auth.Request, ip string) auth.Request {
	r.IP = netip.MustParseAddr(ip)
	return r
}

func withLabels(r auth.Request, l auth.Labels) auth.Request {
	r.Identity.Labels = l
	return r
}

func withType(r auth.Request, typ string) auth.Request {
	r.Access.Type = typ
	return r
}

func mustACL(t testing.TB, doc string) *ACL {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
		t.Fatal(err)
	}
	rules, err := ParseACL(&n)
	if err != nil {
		t.Fatalf("ParseACL: %v", err)
	}
	a, err := New(rules)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

type decision struct {
	req     auth.Request
	rule    int // -1: no rule matches (ErrNoMatch)
	allowed []string
}

func checkDecisions(t *testing.T, a *ACL, cases map[string]decision) {
	t.Helper()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := a.Authorize(context.Background(), tc.req)
			if tc.rule < 0 {
				if !errors.Is(err, ErrNoMatch) || got != nil {
					t.Fatalf("Authorize = %q, %v; want nil, ErrNoMatch", got, err)
				}
			} else if err != nil {
				t.Fatalf("Authorize: %v", err)
			}
			if tc.rule >= 0 && got == nil {
				t.Errorf("a decision must be a non-nil slice")
			}
			if diff := cmp.Diff(tc.allowed, got, cmpEmpty); diff != "" {
				t.Errorf("allowed actions (-want +got):\n%s", diff)
			}
			i, _, allowed, err := a.Explain(tc.req)
			if err != nil || i != tc.rule {
				t.Errorf("Explain = rule %d, %v; want rule %d", i, err, tc.rule)
			}
			if diff := cmp.Diff(tc.allowed, allowed, cmpEmpty); diff != "" {
				t.Errorf("Explain allowed (-want +got):\n%s", diff)
			}
		})
	}
}

// cmpEmpty treats nil and empty slices alike in diffs; nil-ness is checked
// separately.
var cmpEmpty = cmp.Transformer("empty", func(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
})

// The setup of the classic registry:2 + docker_auth tutorial.
const classicACL = `
- match: {account: "admin"}
  actions: ["*"]
- match: {account: "test"}
  actions: ["pull"]
- match: {account: "/.+/"}          # any logged-in user
  actions: ["pull"]
- match: {account: "", name: "hello-world"}
  actions: ["pull"]
`

func TestClassicStack(t *testing.T) {
	t.Parallel()
	a := mustACL(t, classicACL)
	checkDecisions(t, a, map[string]decision{
		"admin pushes anything":       {req("admin", "team/app", "pull", "push"), 0, []string{"pull", "push"}},
		"admin reads the catalog":     {withType(req("admin", "catalog", "*"), auth.TypeRegistry), 0, []string{"*"}},
		"test pulls":                  {req("test", "team/app", "pull"), 1, []string{"pull"}},
		"test cannot push":            {req("test", "team/app", "pull", "push"), 1, []string{"pull"}},
		"test push only gets nothing": {req("test", "team/app", "push"), 1, []string{}},
		"logged-in user pulls":        {req("alice", "team/app", "pull", "push"), 2, []string{"pull"}},
		"anonymous pulls hello-world": {req("", "hello-world", "pull"), 3, []string{"pull"}},
		"anonymous cannot push it":    {req("", "hello-world", "push"), 3, []string{}},
		"anonymous elsewhere: deny":   {req("", "team/app", "pull"), -1, nil},
		"exact name, not a prefix":    {req("", "hello-world/x", "pull"), -1, nil},
		"account is case sensitive":   {req("Admin", "team/app", "push"), 2, []string{}},
	})
}

// The ACL of docker_auth's examples/reference.yml, with two changes: the
// label rules come before the catch-all rules that would hide them, and
// the group regex is anchored.
const referenceACL = `
- match: {ip: "127.0.0.0/8"}
  actions: ["*"]
  comment: "Allow everything from localhost (IPv4)"
- match: {ip: "::1"}
  actions: ["*"]
- match: {ip: "172.17.0.1"}
  actions: ["*"]
- match: {account: "admin"}
  actions: ["*"]
- match: {account: "test", name: "test-*"}
  actions: ["*"]
- match: {account: "test"}
  actions: []
  comment: "User test has access to test-* images but nothing else"
- match: {labels: {"group": "VIP"}}
  actions: ["push"]
- match: {labels: {"group": "/^(trainee|dev)$/"}}
  actions: ["push", "pull"]
- match: {name: "${labels:group}-shared/*"}
  actions: ["push", "pull"]
- match: {name: "${labels:project}/${labels:group}-${labels:tier}"}
  actions: ["push", "pull"]
- match: {account: "/.+/", name: "${account}/*"}
  actions: ["*"]
  comment: "personal namespaces"
- match: {account: "/.+/", type: "registry", name: "catalog"}
  actions: ["*"]
- match: {account: "/.+/"}
  actions: ["pull"]
- match: {account: "", name: "hello-world"}
  actions: ["pull"]
`

func TestReferenceACL(t *testing.T) {
	t.Parallel()
	a := mustACL(t, referenceACL)
	busyGuy := auth.Labels{ // docs/Labels.md
		"group":   {"web", "webdev"},
		"project": {"website", "api"},
		"tier":    {"frontend", "backend"},
	}
	checkDecisions(t, a, map[string]decision{
		"localhost v4":                 {withIP(req("", "x", "push"), "127.1.2.3"), 0, []string{"push"}},
		"localhost v6":                 {withIP(req("", "x", "push"), "::1"), 1, []string{"push"}},
		"v4-mapped v6 is v4":           {withIP(req("", "x", "push"), "::ffff:127.0.0.1"), 0, []string{"push"}},
		"docker bridge exact address":  {withIP(req("", "x", "push"), "172.17.0.1"), 2, []string{"push"}},
		"next to the bridge: no rule":  {withIP(req("", "x", "push"), "172.17.0.2"), -1, nil},
		"no client address":            {auth.Request{Access: auth.Access{Type: "repository", Name: "x", Actions: []string{"pull"}}}, -1, nil},
		"test on test-*":               {req("test", "test-app", "push"), 4, []string{"push"}},
		"glob star stops at slash":     {req("test", "test-app/sub", "pull"), 5, []string{}},
		"test elsewhere: deny rule":    {req("test", "other", "pull"), 5, []string{}},
		"VIP label pushes":             {withLabels(req("v", "z", "push", "pull"), auth.Labels{"group": {"x", "VIP"}}), 6, []string{"push"}},
		"dev label":                    {withLabels(req("d", "z", "push", "pull"), auth.Labels{"group": {"dev"}}), 7, []string{"pull", "push"}},
		"anchored label regex":         {withLabels(req("d", "z", "push"), auth.Labels{"group": {"devops"}}), 12, []string{}},
		"group shared namespace":       {withLabels(req("w", "webdev-shared/tool", "push"), busyGuy), 8, []string{"push"}},
		"not a group of the user":      {withLabels(req("w", "ops-shared/tool", "push"), busyGuy), 12, []string{}},
		"three labels combined":        {withLabels(req("w", "api/webdev-backend", "push"), busyGuy), 9, []string{"push"}},
		"label combination not held":   {withLabels(req("w", "api/ops-backend", "push"), busyGuy), 12, []string{}},
		"personal namespace":           {req("bob", "bob/app", "push", "pull"), 10, []string{"pull", "push"}},
		"namespace is one level":       {req("bob", "bob/app/sub", "push", "pull"), 12, []string{"pull"}},
		"someone else's namespace":     {req("bob", "alice/app", "push", "pull"), 12, []string{"pull"}},
		"account is quoted in globs":   {req("*", "bob/app", "push"), 12, []string{}},
		"dots are literal":             {req("a.b", "axb/app", "push"), 12, []string{}},
		"dotted namespace":             {req("a.b", "a.b/app", "push"), 10, []string{"push"}},
		"catalog for logged-in users":  {withType(req("bob", "catalog", "*"), auth.TypeRegistry), 11, []string{"*"}},
		"anonymous catalog: no rule":   {withType(req("", "catalog", "*"), auth.TypeRegistry), -1, nil},
		"anonymous hello-world":        {req("", "hello-world", "pull"), 13, []string{"pull"}},
		"labels but anonymous elsewhr": {withLabels(req("", "web-shared/x", "pull"), nil), -1, nil},
	})
}

func TestMatching(t *testing.T) {
	t.Parallel()
	foo := auth.Request{Identity: auth.Identity{Account: "foo"}, Access: auth.Access{Type: "bar", Name: "baz", Actions: []string{"pull"}}}
	named := func(account, name string) auth.Request {
		return auth.Request{Identity: auth.Identity{Account: account}, Access: auth.Access{Type: "repository", Name: name, Actions: []string{"pull"}}, Service: "svc"}
	}
	// Most cases come from docker_auth's own authz/acl_test.go.
	cases := []struct {
		name  string
		match Match
		req   auth.Request
		want  bool
	}{
		{"empty matches anything", Match{}, foo, true},
		{"account", Match{Account: new("foo")}, foo, true},
		{"account and type", Match{Account: new("foo"), Type: new("bar")}, foo, true},
		{"type differs", Match{Account: new("foo"), Type: new("baz")}, foo, false},
		{"globs and a search regex", Match{Account: new("fo?"), Type: new("b*"), Name: new("/z$/")}, foo, true},
		{"regex is a search, not anchored", Match{Name: new("/^z/")}, foo, false},
		{"regex finds inside", Match{Name: new("/a/")}, foo, true},
		{"var", Match{Name: new("${account}")}, named("foo", "foo"), true},
		{"var in regex", Match{Name: new("/${account}_.*/")}, named("foo", "foo_x"), true},
		{"var is quoted in regex", Match{Name: new("/${account}_.*/")}, named(".*", "foo_x"), false},
		{"capture group", Match{Account: new(`/^(.+)@test\.com$/`), Name: new(`${account:1}/*`)}, named("john.smith@test.com", "john.smith/test"), true},
		{"two capture groups", Match{Account: new(`/^(.+)@(.+?).test\.com$/`), Name: new(`${account:1}-${account:2}/*`)}, named("john.smith@it.test.com", "john.smith-it/test"), true},
		{"capture is quoted", Match{Account: new(`/^(.+)@test\.com$/`), Name: new(`${account:1}/*`)}, named("*@test.com", "john/test"), false},
		{"capture of non-matching account", Match{Account: new(`/^(.+)@test\.com$/`), Name: new(`${account:1}/*`)}, named("john", "john/test"), false},
		{"service", Match{Service: new("${service}")}, named("a", "b"), true},
		{"service differs", Match{Service: new("other")}, named("a", "b"), false},
		{"all vars", Match{Name: new("${type}/${account}/${service}")}, named("a", "repository/a/svc"), true},
		{"anonymous only", Match{Account: new("")}, named("", "x"), true},
		{"anonymous only, not bob", Match{Account: new("")}, named("bob", "x"), false},
		{"any logged in", Match{Account: new("/.+/")}, named("", "x"), false},
		{"glob class", Match{Name: new("lib[a-c]/x")}, named("", "libb/x"), true},
		{"glob question mark is one char", Match{Name: new("a?c")}, named("", "a/c"), false},
		{"glob escape", Match{Name: new(`a\*`)}, named("", "a*"), true},
		{"double slash is a glob", Match{Name: new("//")}, named("", "//"), true},
		{"ip no address", Match{IP: new("127.0.0.1")}, foo, false},
		{"label", Match{Labels: map[string]string{"group": "admins"}}, withLabels(foo, auth.Labels{"group": {"users", "admins"}}), true},
		{"label missing", Match{Labels: map[string]string{"group": "admins"}}, foo, false},
		{"all labels must match", Match{Labels: map[string]string{"group": "admins", "org": "acme"}}, withLabels(foo, auth.Labels{"group": {"admins"}}), false},
		{"label pattern with var", Match{Labels: map[string]string{"owner": "${account}"}}, withLabels(foo, auth.Labels{"owner": {"foo"}}), true},
		{"label placeholder value is quoted", Match{Name: new("${labels:p}/*")}, withLabels(named("a", "ab/x"), auth.Labels{"p": {"a*"}}), false},
		{"label placeholder literal value", Match{Name: new("${labels:p}/*")}, withLabels(named("a", "a*/x"), auth.Labels{"p": {"a*"}}), true},
		{"label placeholder in regex", Match{Name: new("/^${labels:p}-[0-9]+$/")}, withLabels(named("a", "web-42"), auth.Labels{"p": {"api", "web"}}), true},
		{"label placeholder, value absent", Match{Name: new("${labels:p}")}, named("a", "${labels:p}"), false},
		{"same label twice, same value", Match{Name: new("${labels:g}/${labels:g}")}, withLabels(named("a", "x/y"), auth.Labels{"g": {"x", "y"}}), false},
		{"a substituted slash cannot make a regex", Match{Name: new("${account}")}, named("/.*/", "anything"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, err := New([]Rule{{Match: tc.match, Actions: []string{"pull"}}})
			if err != nil {
				t.Fatal(err)
			}
			i, _, _, err := a.Explain(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := i == 0; got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestIP(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pattern, ip string
		want        bool
	}{
		{"127.0.0.1", "127.0.0.1", true},
		{"127.0.0.1", "127.0.0.2", false},
		{"127.0.0.0/8", "127.0.0.2", true},
		{"192.168.0.1/16", "192.168.200.1", true},
		{"2001:db8::1", "2001:db8::1", true},
		{"2001:db8::1", "2001:db8::2", false},
		{"2001:db8::/48", "2001:db8::2", true},
		{"2001:db8::/48", "2001:db9::2", false},
		{"::ffff:10.0.0.1", "10.0.0.1", true},
		{"10.0.0.0/8", "::ffff:10.1.1.1", true},
		{"::ffff:10.0.0.0/104", "10.2.3.4", true},
		{"fe80::/10", "fe80::1%eth0", true},
		{"10.0.0.0/8", "2001:db8::1", false},
	}
	for _, tc := range cases {
		t.Run(tc.pattern+" "+tc.ip, func(t *testing.T) {
			t.Parallel()
			a, err := New([]Rule{{Match: Match{IP: new(tc.pattern)}, Actions: []string{"*"}}})
			if err != nil {
				t.Fatal(err)
			}
			i, _, _, _ := a.Explain(withIP(req("", "x", "pull"), tc.ip))
			if got := i == 0; got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestActions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		rule      []string
		requested []string
		want      []string
	}{
		{"star allows all requested", []string{"*"}, []string{"pull", "push"}, []string{"pull", "push"}},
		{"star with nothing requested", []string{"*"}, nil, []string{}},
		{"intersection", []string{"pull", "delete"}, []string{"delete", "pull", "push"}, []string{"delete", "pull"}},
		{"empty rule denies", []string{}, []string{"pull"}, []string{}},
		{"star among others is a plain name", []string{"pull", "*"}, []string{"push"}, []string{}},
		{"requested star against a list", []string{"pull", "*"}, []string{"*"}, []string{"*"}},
		{"requested star against pull only", []string{"pull"}, []string{"*"}, []string{}},
		{"duplicates collapse", []string{"pull", "pull"}, []string{"pull", "pull"}, []string{"pull"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, err := New([]Rule{{Actions: tc.rule}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := a.Authorize(context.Background(), req("u", "r", tc.requested...))
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatal("nil decision")
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFirstMatchWins(t *testing.T) {
	t.Parallel()
	a := mustACL(t, `
- match: {account: "eve"}
  actions: []
  comment: "eve is suspended"
- match: {account: "/.+/"}
  actions: ["*"]
`)
	checkDecisions(t, a, map[string]decision{
		"deny above allow": {req("eve", "x", "pull"), 0, []string{}},
		"others allowed":   {req("bob", "x", "pull"), 1, []string{"pull"}},
		"anonymous":        {req("", "x", "pull"), -1, nil},
	})
	if _, comment, _, _ := a.Explain(req("eve", "x", "pull")); comment != "eve is suspended" {
		t.Errorf("comment = %q", comment)
	}
}

func TestDefaultDeny(t *testing.T) {
	t.Parallel()
	for _, rules := range [][]Rule{nil, {}} {
		a, err := New(rules)
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.Authorize(context.Background(), req("admin", "x", "pull"))
		if !errors.Is(err, ErrNoMatch) || got != nil {
			t.Errorf("empty ACL: %q, %v", got, err)
		}
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		match Match
		want  string
	}{
		{"bad regex", Match{Account: new("/foo?*/")}, "bad regular expression"},
		{"bad regex with placeholder", Match{Name: new("/${account}(/")}, "bad regular expression"},
		{"bad glob", Match{Name: new("lib[")}, "bad glob"},
		{"bad prefix length", Match{IP: new("192.168.0.1/100")}, "match.ip"},
		{"ip wildcard", Match{IP: new("192.168.0.*")}, "match.ip"},
		{"ip word", Match{IP: new("foo")}, "match.ip"},
		{"v6 prefix too long", Match{IP: new("2001:db8::/222")}, "match.ip"},
		{"ip zone", Match{IP: new("fe80::1%eth0")}, "match.ip"},
		{"empty ip", Match{IP: new("")}, "match.ip"},
		{"unknown placeholder", Match{Name: new("${acount}/*")}, "unknown placeholder ${acount} (did you mean ${account}?)"},
		{"mistyped label placeholder", Match{Name: new("${label:group}/*")}, "unknown placeholder ${label:group} (did you mean ${labels:group}?)"},
		{"old docker_auth placeholder", Match{Name: new("${team}/*")}, "unknown placeholder ${team}"},
		{"unterminated", Match{Name: new("${account")}, "unterminated"},
		{"empty label name", Match{Name: new("${labels:}")}, "names no label"},
		{"capture group zero", Match{Account: new("/(a)/"), Name: new("${account:0}")}, "numbered from 1"},
		{"capture of a glob", Match{Account: new("a*"), Name: new("${account:1}")}, "needs match.account to be a /regex/"},
		{"capture of an absent field", Match{Name: new("${service:1}")}, "needs match.service"},
		{"capture group out of range", Match{Account: new("/(a)/"), Name: new("${account:2}")}, "only 1 capture groups"},
		{"capture of a regex with placeholders", Match{Account: new("/(${name})/"), Name: new("${account:1}")}, "must not itself contain placeholders"},
		{"label placeholder in a label pattern", Match{Labels: map[string]string{"g": "${labels:g}"}}, "not expanded here"},
		{"bad label regex", Match{Labels: map[string]string{"g": "/(/"}}, "match.labels.g"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New([]Rule{{Actions: []string{"pull"}}, {Match: tc.match, Actions: []string{"pull"}, Line: 7}})
			if err == nil {
				t.Fatal("New succeeded")
			}
			for _, want := range []string{"rule #1 (line 7)", tc.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestNewReportsEveryRule(t *testing.T) {
	t.Parallel()
	_, err := New([]Rule{
		{Match: Match{Name: new("/(/")}},
		{Match: Match{IP: new("nope")}},
	})
	if err == nil || !strings.Contains(err.Error(), "rule #0") || !strings.Contains(err.Error(), "rule #1") {
		t.Fatalf("error %v should name both rules", err)
	}
}

func TestTooManyLabelCombinations(t *testing.T) {
	t.Parallel()
	a, err := New([]Rule{{Match: Match{Name: new("${labels:a}/${labels:b}")}, Actions: []string{"*"}}})
	if err != nil {
		t.Fatal(err)
	}
	many := make([]string, 200)
	for i := range many {
		many[i] = strings.Repeat("v", i+1)
	}
	r := withLabels(req("u", "x/y", "pull"), auth.Labels{"a": many, "b": many})
	got, err := a.Authorize(context.Background(), r)
	if !errors.Is(err, ErrTooManyCombinations) || got != nil {
		t.Fatalf("Authorize = %q, %v; want an ErrTooManyCombinations error", got, err)
	}
	if _, _, _, err := a.Explain(r); !errors.Is(err, ErrTooManyCombinations) {
		t.Fatalf("Explain error = %v", err)
	}
}

func TestChain(t *testing.T) {
	t.Parallel()
	none, _ := New(nil)
	admin := mustACL(t, "- match: {account: admin}\n  actions: ['*']")
	broken := brokenAuthorizer{}
	ctx := context.Background()
	cases := []struct {
		name    string
		chain   Chain
		want    []string
		wantErr error
	}{
		{"empty chain denies", Chain{}, nil, ErrNoMatch},
		{"no match passes on", Chain{none, admin}, []string{"push"}, nil},
		{"all no match", Chain{none, none}, nil, ErrNoMatch},
		{"error stops the chain", Chain{broken, admin}, nil, errBroken},
		{"decision before error", Chain{admin, broken}, []string{"push"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.chain.Authorize(ctx, req("admin", "x", "push"))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

var errBroken = errors.New("backend down")

type brokenAuthorizer struct{}

func (brokenAuthorizer) Authorize(context.Context, auth.Request) ([]string, error) {
	return nil, errBroken
}
func (brokenAuthorizer) Name() string { return "broken" }

func TestRulesCopy(t *testing.T) {
	t.Parallel()
	a := mustACL(t, classicACL)
	rules := a.Rules()
	rules[0].Comment = "changed"
	if a.Rules()[0].Comment == "changed" {
		t.Error("Rules must return a copy")
	}
	if len(rules) != 4 || rules[1].Line != 4 {
		t.Errorf("rules = %+v", rules)
	}
}

// A rule can require the backend an account came from: a sign-in account
// named like an LDAP user does not get that user's rules.
func TestSource(t *testing.T) {
	t.Parallel()
	a := mustACL(t, `
- match: {account: alice, source: ldap}
  actions: [pull, push]
- match: {account: alice, source: "/^(github|gitlab)$/"}
  actions: [pull]
`)
	ldap := auth.Labels{auth.LabelSource: {"ldap"}}
	checkDecisions(t, a, map[string]decision{
		"from ldap":       {withLabels(req("alice", "app", "push"), ldap), 0, []string{"push"}},
		"from github":     {withLabels(req("alice", "app", "push"), auth.Labels{auth.LabelSource: {"github"}}), 1, []string{}},
		"from the config": {withLabels(req("alice", "app", "push"), auth.Labels{auth.LabelSource: {"static"}}), -1, nil},
		"no source":       {req("alice", "app", "push"), -1, nil},
	})
	if _, err := parse(t, "- match: {source: ldap, labels: {wharf.source: ldap}}\n  actions: [pull]\n"); err == nil || !strings.Contains(err.Error(), "say the same") {
		t.Errorf("source and the label it stands for together: %v", err)
	}
}
