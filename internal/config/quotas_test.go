package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadQuotas(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "wharf.yml")
	doc := `quotas:
  - {repositories: "team/*", bytes: 10GiB}
  - {repositories: "/^ml/.+$/", bytes: "1.5 GB"}
  - {repositories: solo, bytes: 1048576}
`
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := []ByteSize{10 << 30, 1_500_000_000, 1 << 20}
	for i, q := range c.Quotas {
		if q.Bytes != want[i] {
			t.Errorf("quotas[%d].bytes = %d, want %d", i, q.Bytes, want[i])
		}
	}
	for _, tc := range []struct {
		quota int
		repo  string
		want  bool
	}{
		{0, "team/app", true},
		{0, "team/app/sub", false}, // "*" does not cross "/", as in the ACL
		{0, "teamx/app", false},
		{1, "ml/models/bert", true},
		{1, "ml", false},
		{2, "solo", true},
		{2, "solo2", false},
	} {
		m, err := c.Quotas[tc.quota].Matcher()
		if err != nil {
			t.Fatal(err)
		}
		if got := m(tc.repo); got != tc.want {
			t.Errorf("quota %q matches %q = %v, want %v", c.Quotas[tc.quota].Repositories, tc.repo, got, tc.want)
		}
	}
}

func TestValidateQuotas(t *testing.T) {
	t.Parallel()
	c := Default()
	c.Quotas = []Quota{
		{Repositories: "", Bytes: 1},
		{Repositories: "team/[", Bytes: 1},
		{Repositories: "/(/", Bytes: 1},
		{Repositories: "${account}/*", Bytes: 1},
		{Repositories: "a/*", Bytes: 0},
		{Repositories: "a/*", Bytes: 5},
	}
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"quotas[0].repositories: must not be empty",
		`quotas[1].repositories: bad glob "team/["`,
		"quotas[2].repositories: bad regular expression /(/",
		"quotas[3].repositories: \"${account}/*\": placeholders",
		"quotas[4].bytes: must be positive",
		`quotas[5].repositories: "a/*" is already quotas[4]'s pattern`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestByteSizeRefusesNonsense(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"lots", "[1]", "-5GiB", "99999999999 EiB"} {
		p := filepath.Join(t.TempDir(), "wharf.yml")
		if err := os.WriteFile(p, []byte("quotas:\n  - {repositories: a, bytes: "+v+"}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("bytes: %s: got %v, want an error naming line 2", v, err)
		}
	}
}
