package config

import "testing"

func TestSuggestKey(t *testing.T) {
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
		if got := SuggestKey(tc.key, known); got != tc.want {
			t.Errorf("SuggestKey(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}

func TestHasLiteralQuotes(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{
		`"Auth Service"`: true, `'x'`: true, `Auth Service`: false, `"`: false, `"x'`: false, ``: false, `a"b"`: false,
	} {
		if got := HasLiteralQuotes(v); got != want {
			t.Errorf("HasLiteralQuotes(%s) = %v", v, got)
		}
	}
}
