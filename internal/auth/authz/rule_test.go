package authz

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

func parse(t *testing.T, doc string) ([]Rule, error) {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
		t.Fatal(err)
	}
	return ParseACL(&n)
}

func TestParseACL(t *testing.T) {
	t.Parallel()
	rules, err := parse(t, `
- match:
    account: "/.+/"
    type: repository
    name: "${account}/*"
    service: "registry.example.com"
    ip: 10.0.0.0/8
    labels: {group: admins}
  actions: [pull, push]
  comment: everything
- match: {account: ""}
  actions: []
- match: &any {}
  actions: ["*"]
- match: *any
  actions: [pull]
- match: {name: 123}
  actions: [pull]
`)
	if err != nil {
		t.Fatal(err)
	}
	want := []Rule{
		{
			Match: Match{
				Account: new("/.+/"), Type: new("repository"), Name: new("${account}/*"),
				Service: new("registry.example.com"), IP: new("10.0.0.0/8"),
				Labels: map[string]string{"group": "admins"},
			},
			Actions: []string{"pull", "push"}, Comment: "everything", Line: 2,
		},
		{Match: Match{Account: new("")}, Actions: []string{}, Line: 11},
		{Actions: []string{"*"}, Line: 13},
		{Actions: []string{"pull"}, Line: 15},
		{Match: Match{Name: new("123")}, Actions: []string{"pull"}, Line: 17},
	}
	if diff := cmp.Diff(want, rules); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseACLEmpty(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{"", "# nothing\n", "[]", "~"} {
		rules, err := parse(t, doc)
		if err != nil || len(rules) != 0 {
			t.Errorf("%q: %v, %v", doc, rules, err)
		}
	}
}

func TestParseACLErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		doc  string
		want []string // each must appear in the error
	}{
		{"typo in match", "- match: {acount: bob}\n  actions: ['*']",
			[]string{"line 1", `unknown key "acount" in match`, `did you mean "account"?`, "valid keys: account, type, name, service, ip, labels, source"}},
		{"typo in rule", "- match: {}\n  action: [pull]",
			[]string{"line 2", `unknown key "action" in rule`, `did you mean "actions"?`, "valid keys: match, actions, comment"}},
		{"no close suggestion", "- match: {group: x}\n  actions: []",
			[]string{`unknown key "group" in match; valid keys`}},
		{"no match", "- actions: [pull]", []string{"line 1", "rule has no match", "match: {}"}},
		{"no actions", "- match: {}", []string{"line 1", "rule has no actions", "actions: []"}},
		{"null match", "- match:\n  actions: [pull]", []string{"line 1", "match has no value"}},
		{"null actions", "- match: {}\n  actions:", []string{"line 2", "actions has no value"}},
		{"null account", "- match: {account: }\n  actions: [pull]", []string{"match.account has no value"}},
		{"null account tilde", "- match: {account: ~}\n  actions: [pull]", []string{"match.account has no value"}},
		{"actions not a list", "- match: {}\n  actions: pull", []string{"actions must be a list"}},
		{"empty action", "- match: {}\n  actions: ['']", []string{"action is empty"}},
		{"nested action", "- match: {}\n  actions: [[pull]]", []string{"action must be a string"}},
		{"account list", "- match: {account: [a, b]}\n  actions: []", []string{"match.account must be a string"}},
		{"labels list", "- match: {labels: {group: [a, b]}}\n  actions: []", []string{"match.labels.group must be a string"}},
		{"labels scalar", "- match: {labels: admins}\n  actions: []", []string{"match.labels must be a mapping"}},
		{"null labels", "- match: {labels: }\n  actions: []", []string{"match.labels has no value"}},
		{"repeated key", "- match: {account: a, account: b}\n  actions: []", []string{`key "account" repeated`}},
		{"rule not a mapping", "- just a string", []string{"rule must be a mapping"}},
		{"not a list", "match: {}\nactions: []", []string{"must be a list of rules"}},
		{"comment not a string", "- match: {}\n  actions: []\n  comment: [a]", []string{"comment must be a string"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parse(t, tc.doc)
			if err == nil {
				t.Fatal("ParseACL succeeded")
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not a *ParseError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseACLReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := parse(t, `
- match: {acount: bob}
  actions: [pull]
- match: {}
- actions: [pull]
  coment: x
`)
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("error %v does not join several", err)
	}
	var lines []int
	for _, e := range joined.Unwrap() {
		var pe *ParseError
		if errors.As(e, &pe) {
			lines = append(lines, pe.Line)
		}
	}
	if diff := cmp.Diff([]int{2, 4, 5, 6}, lines); diff != "" {
		t.Errorf("error lines (-want +got):\n%s\n%v", diff, err)
	}
}

// A config that embeds rules gets the same strictness through
// UnmarshalYAML, with yaml.v3's error type so all errors are collected.
func TestUnmarshalYAML(t *testing.T) {
	t.Parallel()
	var cfg struct {
		ACL []Rule `yaml:"acl"`
	}
	good := "acl:\n  - match: {account: admin}\n    actions: ['*']\n"
	if err := yaml.Unmarshal([]byte(good), &cfg); err != nil {
		t.Fatal(err)
	}
	want := []Rule{{Match: Match{Account: new("admin")}, Actions: []string{"*"}, Line: 2}}
	if diff := cmp.Diff(want, cfg.ACL); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	bad := "acl:\n  - match: {acount: bob}\n    actions: ['*']\n  - match: {}\n"
	err := yaml.Unmarshal([]byte(bad), &cfg)
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		t.Fatalf("error %T %v, want *yaml.TypeError", err, err)
	}
	wantErrs := []string{
		`line 2: unknown key "acount" in match (did you mean "account"?); valid keys: account, type, name, service, ip, labels, source`,
		"line 4: rule has no actions (write actions: [] for a deny rule)",
	}
	if diff := cmp.Diff(wantErrs, te.Errors); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	var m Match
	if err := yaml.Unmarshal([]byte("{nmae: x}"), &m); err == nil || !strings.Contains(err.Error(), `did you mean "name"`) {
		t.Errorf("Match.UnmarshalYAML: %v", err)
	}
}

// Encoding rules gives back docker_auth's shape.
func TestMarshalRoundTrip(t *testing.T) {
	t.Parallel()
	rules, err := parse(t, classicACL)
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(rules)
	if err != nil {
		t.Fatal(err)
	}
	again, err := parse(t, string(out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if diff := cmp.Diff(rules, again, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Line" }, cmp.Ignore())); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestLoadACLFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "acl.yml")
	if err := os.WriteFile(good, []byte(classicACL), 0o600); err != nil {
		t.Fatal(err)
	}
	rules, err := LoadACLFile(good)
	if err != nil || len(rules) != 4 {
		t.Fatalf("LoadACLFile = %d rules, %v", len(rules), err)
	}

	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("- match: {}\n  actions: []\n- match: {acount: bob}\n  actions: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadACLFile(bad)
	if err == nil || !strings.Contains(err.Error(), bad+":3:11: unknown key \"acount\"") {
		t.Errorf("error = %v", err)
	}

	syntax := filepath.Join(dir, "syntax.yml")
	if err := os.WriteFile(syntax, []byte("- match: {\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadACLFile(syntax); err == nil || !strings.Contains(err.Error(), syntax) {
		t.Errorf("error = %v", err)
	}
	if _, err := LoadACLFile(filepath.Join(dir, "missing.yml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error = %v", err)
	}
}
