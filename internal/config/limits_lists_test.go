package config

import (
	"strings"
	"testing"
)

func TestListLimits(t *testing.T) {
	t.Parallel()
	c, err := Load(write(t, "limits:\n  list_page: 5\n  referrers_page: 7\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits.ListPage != 5 || c.Limits.ReferrersPage != 7 {
		t.Errorf("limits read as %+v, want list_page 5, referrers_page 7", c.Limits)
	}
	if _, err := Load(write(t, "limits:\n  list_pages: 5\n")); err == nil || !strings.Contains(err.Error(), "list_pages") {
		t.Errorf("a misspelt limit: %v, want an error naming it", err)
	}

	for _, tc := range []struct {
		name    string
		limits  Limits
		wantErr []string
	}{
		{"defaults", Limits{}, nil},
		{"smallest", Limits{ListPage: 1, ReferrersPage: 1}, nil},
		{"largest", Limits{ListPage: 100_000, ReferrersPage: 100_000}, nil},
		{"negative", Limits{ListPage: -1, ReferrersPage: -5}, []string{"limits.list_page: -1", "limits.referrers_page: -5"}},
		{"too large", Limits{ListPage: 100_001, ReferrersPage: 1 << 40}, []string{"limits.list_page: 100001", "limits.referrers_page:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Limits = tc.limits
			err := c.Validate()
			if tc.wantErr == nil {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted %+v", tc.limits)
			}
			for _, s := range append(tc.wantErr, "0 for the default") {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Validate error %q does not mention %q", err, s)
				}
			}
		})
	}
}
