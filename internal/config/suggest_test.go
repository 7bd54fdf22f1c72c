package config

import "testing"

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
