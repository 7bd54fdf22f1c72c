package config

import "testing"

func TestUIServed(t *testing.T) {
	off, on := false, true
	for _, tc := range []struct {
		name string
		role string
		auth string
		ui   *bool
		want bool
	}{
		{"serve with token auth, not said", RoleAllInOne, "token", nil, true},
		{"serve with token auth, ui: true", RoleAllInOne, "token", &on, true},
		{"serve with token auth, ui: false", RoleAllInOne, "token", &off, false},
		{"serve without token auth has no accounts to sign in with", RoleAllInOne, "none", &on, false},
		{"a registry alone has no accounts", RoleRegistry, "token", nil, false},
		{"a token server alone has no registry", RoleAuth, "token", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Role: tc.role, Auth: tc.auth, UI: tc.ui}
			if got := c.UIServed(); got != tc.want {
				t.Errorf("UIServed() = %v, want %v", got, tc.want)
			}
		})
	}
}
