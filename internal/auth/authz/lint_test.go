package authz

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLint(t *testing.T) {
	t.Parallel()
	rules := []Rule{
		{Match: Match{Account: new("/.+/")}, Actions: []string{"pull"}, Line: 1},
		{Match: Match{Labels: map[string]string{"group": "/trainee|dev/"}}, Actions: []string{"push", "pull"}, Line: 3},
		{Match: Match{Name: new("${labels:project}-{labels:tier}/*")}, Actions: []string{"push"}, Line: 5},
		{Match: Match{Account: new("/^a|b$/")}, Actions: []string{"pull", "*"}, Line: 7},
		{Match: Match{Account: new("/^(a|b)$/")}, Actions: []string{"puhs"}, Line: 9},
		{Match: Match{}, Actions: []string{"pull"}, Line: 11},
		{Match: Match{Account: new("admin")}, Actions: []string{"*"}, Line: 13},
	}
	var got []string
	for _, w := range Lint(rules) {
		got = append(got, w.String())
	}
	want := []string{
		`rule #1 (line 3): match.labels.group /trainee|dev/ also matches values that merely contain a match`,
		`rule #2 (line 5): match.name "${labels:project}-{labels:tier}/*" contains "{labels:tier}": did you mean "${labels:tier}"?`,
		`rule #3 (line 7): match.account /^a|b$/ also matches`,
		`rule #3 (line 7): "*" means every action only when it is the only one`,
		`rule #4 (line 9): unknown action "puhs"`,
		`rule #6 (line 13): never reached: rule #5 (line 11) matches every request`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d warnings, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("warning %d = %q\nwant it to contain %q", i, got[i], want[i])
		}
	}
	if diff := cmp.Diff([]Warning(nil), Lint(mustACL(t, classicACL).Rules())); diff != "" {
		t.Errorf("the classic ACL is clean (-want +got):\n%s", diff)
	}
}

func TestCheckActions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		actions []string
		want    []string // substrings of the error; none means accepted
	}{
		{[]string{"pull", "push", "delete"}, nil},
		{[]string{"*"}, nil},
		{nil, nil},
		{[]string{"pul"}, []string{`unknown action "pul" (did you mean pull?)`, "pull, push, delete, *"}},
		{[]string{"Push"}, []string{`"Push" (did you mean push?)`}},
		{[]string{"pull", "dleete", "catalog"}, []string{`"dleete" (did you mean delete?)`, `"catalog";`}},
		{[]string{"x"}, []string{`unknown action "x"; the registry`}},
	}
	for _, tc := range tests {
		err := CheckActions(tc.actions)
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("CheckActions(%q) = %v, want nil", tc.actions, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("CheckActions(%q) = nil, want an error", tc.actions)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("CheckActions(%q) = %q, want it to contain %q", tc.actions, err, w)
			}
		}
	}
}
