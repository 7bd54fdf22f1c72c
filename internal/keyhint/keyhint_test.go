package keyhint

import "testing"

func TestSuggest(t *testing.T) {
	t.Parallel()
	known := []string{"rootdirectory", "realm", "issuer"}
	tests := []struct{ key, want string }{
		{"rootdir3ctory", " (did you mean rootdirectory?)"},
		{"RootDirectory", " (keys are lower case: rootdirectory)"},
		{"isuer", " (did you mean issuer?)"},
		{"completely-different", ""},
		{"", ""},
	}
	for _, tc := range tests {
		if got := Suggest(tc.key, known); got != tc.want {
			t.Errorf("Suggest(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}

func TestClosest(t *testing.T) {
	t.Parallel()
	known := []string{"account", "type", "name"}
	for key, want := range map[string]string{"acount": "account", "ACCOUNT": "account", "nmae": "name", "service": "", "x": ""} {
		if got := Closest(key, known); got != want {
			t.Errorf("Closest(%q) = %q, want %q", key, got, want)
		}
	}
}
