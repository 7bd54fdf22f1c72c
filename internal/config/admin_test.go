package config

import (
	"strings"
	"testing"
)

func TestValidateAdminPassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pw   string
		want string // "" when valid
	}{
		{"", ""},
		{"a long enough password", ""},
		{"short", "at least 12"},
		{`"quoted password"`, "quotes"},
		{"'quoted password'", "quotes"},
		{" leading space pw", "white space"},
		{"wharf_looks_like_a_token", "access tokens"},
		{strings.Repeat("x", 73), "72 bytes"},
	}
	for _, tc := range tests {
		c := Default()
		c.SetAdminPassword(tc.pw)
		err := c.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v; want valid", tc.pw, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), EnvAdminPassword)):
			t.Errorf("%q: %v; want an error naming %s and saying %q", tc.pw, err, EnvAdminPassword, tc.want)
		case err != nil && strings.Contains(err.Error(), tc.pw):
			t.Errorf("%q: the error shows the password: %v", tc.pw, err)
		}
	}
}
