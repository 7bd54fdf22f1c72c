package authz

import (
	"context"
	"net/netip"
	"testing"

	"gopkg.in/yaml.v3"

	"wharf/internal/auth"
)

// FuzzPattern compiles arbitrary patterns and matches them against
// arbitrary values with arbitrary placeholder values: it must never panic,
// never grant an action the rule does not list, and a substituted value
// must never widen a pattern into matching a different string.
func FuzzPattern(f *testing.F) {
	for _, s := range []string{
		"admin", "/.+/", "${account}/*", "/^(.+)@test\\.com$/", "${labels:group}-shared/*",
		"lib[a-c]/x", "a\\*", "${account:1}", "//", "/", "${", "${labels:}", "[", "/(/",
		"${labels:a}/${labels:b}-${labels:a}", "/${account}_.*/",
	} {
		f.Add(s, "john.smith@test.com", "john.smith/test", "web")
	}
	f.Fuzz(func(t *testing.T, pat, account, name, label string) {
		m := Match{Account: &pat, Name: &pat, Labels: map[string]string{"group": pat}}
		a, err := New([]Rule{{Match: m, Actions: []string{"pull"}}})
		if err != nil {
			// Not every pattern is valid everywhere (e.g. a label
			// placeholder in a label pattern); try it as a name only.
			a, err = New([]Rule{{Match: Match{Name: &pat}, Actions: []string{"pull"}}})
			if err != nil {
				return
			}
		}
		r := auth.Request{
			Identity: auth.Identity{Account: account, Labels: auth.Labels{"group": {label, name}}},
			Access:   auth.Access{Type: "repository", Name: name, Actions: []string{"pull", "push"}},
			IP:       netip.MustParseAddr("10.0.0.1"),
		}
		got, err := a.Authorize(context.Background(), r)
		for _, act := range got {
			if act != "pull" {
				t.Fatalf("granted %q, never in the rule", act)
			}
		}
		_ = err

		for _, p := range []string{"${account}", "/^${account}$/", "${labels:group}"} {
			a, err := New([]Rule{{Match: Match{Name: new(p)}, Actions: []string{"pull"}}})
			if err != nil {
				t.Fatal(err)
			}
			r := auth.Request{
				Identity: auth.Identity{Account: account, Labels: auth.Labels{"group": {account}}},
				Access:   auth.Access{Name: name, Actions: []string{"pull"}},
			}
			if i, _, _, _ := a.Explain(r); i == 0 && name != account {
				t.Fatalf("%s with %q matched %q", p, account, name)
			}
		}
	})
}

// FuzzParseACL feeds arbitrary YAML to the strict parser and the engine.
func FuzzParseACL(f *testing.F) {
	f.Add(classicACL)
	f.Add(referenceACL)
	f.Add("- match: {acount: bob}\n  actions: ['*']\n")
	f.Add("- match: &a {}\n  actions: *a\n")
	f.Add("- match:\n    labels: {g: x}\n    ip: ::1\n  actions: [pull]\n  comment: c\n")
	f.Fuzz(func(t *testing.T, doc string) {
		var n yaml.Node
		if yaml.Unmarshal([]byte(doc), &n) != nil {
			return
		}
		rules, err := ParseACL(&n)
		if err != nil {
			return
		}
		_ = Lint(rules)
		a, err := New(rules)
		if err != nil {
			return
		}
		r := req("bob", "bob/app", "pull", "push")
		r.Identity.Labels = auth.Labels{"group": {"dev", "web"}}
		_, _ = a.Authorize(context.Background(), r)
		_, _, _, _ = a.Explain(req("", "hello-world", "pull"))
	})
}
