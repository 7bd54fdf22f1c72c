package replicate

import "testing"

func TestRuleTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		rule      Rule
		repo, tag string
		want      string
		ok        bool
	}{
		{"one segment", Rule{Repositories: []string{"team/*"}}, "team/app", "1", "team/app", true},
		{"star stays in its segment", Rule{Repositories: []string{"team/*"}}, "team/a/b", "1", "", false},
		{"double star crosses segments", Rule{Repositories: []string{"team/**"}}, "team/a/b", "1", "team/a/b", true},
		{"double star takes no segment", Rule{Repositories: []string{"team/**"}}, "team", "1", "team", true},
		{"double star in the middle", Rule{Repositories: []string{"a/**/app"}}, "a/x/y/app", "1", "a/x/y/app", true},
		{"double star in the middle, other end", Rule{Repositories: []string{"a/**/app"}}, "a/x/y/web", "1", "", false},
		{"everything", Rule{Repositories: []string{"**"}}, "x/y/z", "", "x/y/z", true},
		{"other repository", Rule{Repositories: []string{"team/*"}}, "other/app", "1", "", false},
		{"prefix on the destination", Rule{Repositories: []string{"team/*"}, Prefix: "mirror"}, "team/app", "1", "mirror/team/app", true},
		{"tag matches", Rule{Repositories: []string{"**"}, Tags: []string{"v*"}}, "app", "v1.2", "app", true},
		{"tag does not match", Rule{Repositories: []string{"**"}, Tags: []string{"v*"}}, "app", "latest", "", false},
		{"push by digest passes the tag filter", Rule{Repositories: []string{"**"}, Tags: []string{"v*"}}, "app", "", "app", true},
		{"several patterns", Rule{Repositories: []string{"a/*", "b/*"}}, "b/app", "1", "b/app", true},
		{"question mark", Rule{Repositories: []string{"app?"}}, "app1", "1", "app1", true},
		{"no patterns copy nothing", Rule{}, "app", "1", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tc.rule.Target(tc.repo, tc.tag)
			if got != tc.want || ok != tc.ok {
				t.Errorf("Target(%q, %q) = %q, %v; want %q, %v", tc.repo, tc.tag, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func FuzzMatchSegments(f *testing.F) {
	f.Add("team/**/x", "team/a/b/x")
	f.Add("**/**/**", "a/b")
	f.Fuzz(func(t *testing.T, pattern, name string) {
		// No panic, and a name always matches itself when it holds no
		// pattern character.
		_ = Rule{Repositories: []string{pattern}}.MatchesRepository(name)
		if !containsAny(name, "*?[\\") && !(Rule{Repositories: []string{name}}).MatchesRepository(name) {
			t.Errorf("%q does not match itself", name)
		}
	})
}

func containsAny(s, chars string) bool {
	for _, c := range chars {
		for _, d := range s {
			if c == d {
				return true
			}
		}
	}
	return false
}
