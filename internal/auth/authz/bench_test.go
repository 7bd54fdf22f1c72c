package authz

import (
	"context"
	"fmt"
	"testing"

	"wharf/internal/auth"
)

// benchRules is a plausible large ACL: per-team globs, a few regexes and
// label rules, with the request under test matching near the end.
func benchRules(n int) []Rule {
	rules := make([]Rule, 0, n)
	for i := 0; len(rules) < n-3; i++ {
		switch i % 4 {
		case 0:
			rules = append(rules, Rule{Match: Match{Account: new(fmt.Sprintf("user%d", i)), Name: new(fmt.Sprintf("team%d/*", i))}, Actions: []string{"*"}})
		case 1:
			rules = append(rules, Rule{Match: Match{Account: new(fmt.Sprintf("/^ci-%d-[a-z]+$/", i))}, Actions: []string{"pull", "push"}})
		case 2:
			rules = append(rules, Rule{Match: Match{Labels: map[string]string{"group": fmt.Sprintf("group%d", i)}}, Actions: []string{"pull"}})
		case 3:
			rules = append(rules, Rule{Match: Match{IP: new(fmt.Sprintf("10.%d.0.0/16", i)), Name: new("mirror/*")}, Actions: []string{"pull"}})
		}
	}
	return append(rules,
		Rule{Match: Match{Account: new("/.+/"), Name: new("${account}/*")}, Actions: []string{"*"}},
		Rule{Match: Match{Account: new("/.+/")}, Actions: []string{"pull"}},
		Rule{Match: Match{Account: new(""), Name: new("hello-world")}, Actions: []string{"pull"}},
	)
}

func BenchmarkAuthorize100Rules(b *testing.B) {
	a, err := New(benchRules(100))
	if err != nil {
		b.Fatal(err)
	}
	cases := map[string]auth.Request{
		"personal namespace": withLabels(req("alice", "alice/app", "pull", "push"), auth.Labels{"group": {"dev", "web"}}),
		"no match":           req("", "private/app", "pull"),
	}
	for name, r := range cases {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Authorize(ctx, r); err != nil && name != "no match" {
					b.Fatal(err)
				}
			}
		})
	}
}
