package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPolicies(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "wharf.yml")
	if err := os.WriteFile(path, []byte(`read_only: true
immutable_tags:
  - {repositories: "prod/*", tags: "v*"}
retention:
  interval: 24h
  policies:
    - repositories: "team/*"
      tags: "*"
      keep_last: 10
      keep_within: 30d
      keep_tags: [latest, "release-*"]
      untagged_after: 7d
`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("a valid file: %v", err)
	}
	p := c.Retention.Policies[0]
	if !c.ReadOnly || c.Retention.Interval.Std() != 24*time.Hour || p.KeepLast != 10 || p.KeepWithin.Std() != 30*24*time.Hour ||
		len(p.KeepTags) != 2 || p.UntaggedAfter.Std() != 7*24*time.Hour || c.ImmutableTags[0].String() != `{repositories: "prod/*", tags: "v*"}` {
		t.Fatalf("decoded %+v", c)
	}

	for _, tc := range []struct {
		name string
		mod  func(c *Config)
		want string
	}{
		{"interval too short", func(c *Config) { c.Retention.Interval = Duration(time.Second) }, "retention.interval: 1s is too short"},
		{"bad repositories glob", func(c *Config) { c.Retention.Policies[0].Repositories = "team/[" }, `retention.policies[0].repositories: "team/[" is not a valid glob`},
		{"no repositories", func(c *Config) { c.Retention.Policies[0].Repositories = "" }, "retention.policies[0].repositories: must not be empty"},
		{"bad keep_tags glob", func(c *Config) { c.Retention.Policies[0].KeepTags = []string{"a", "["} }, "retention.policies[0].keep_tags[1]"},
		{"negative keep_last", func(c *Config) { c.Retention.Policies[0].KeepLast = -1 }, "must not be negative"},
		{"removes nothing", func(c *Config) { c.Retention.Policies[0] = RetentionPolicy{Repositories: "*", KeepTags: []string{"x"}} }, "retention.policies[0]: removes nothing"},
		{"immutable without tags", func(c *Config) { c.ImmutableTags[0].Tags = "" }, "immutable_tags[0].tags: must not be empty"},
	} {
		bad, _ := Load(path)
		tc.mod(&bad)
		err := bad.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want %q", tc.name, err, tc.want)
		}
	}
	f, err := ReadFile(writeTemp(t, "retention:\n  policies:\n    - repositories: a\n      keep_lsat: 3\n"))
	if err != nil || len(f.Problems) == 0 || !strings.Contains(f.Problems[0].Error(), "did you mean keep_last?") {
		t.Errorf("a misspelt key: %v", f.Problems)
	}
}

func writeTemp(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "wharf.yml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
