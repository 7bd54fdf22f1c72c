package config

import (
	"strings"
	"testing"
)

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

// TestQuotesAdviceBlamesTheValue: compose's list syntax is decoded
// correctly (REGISTRY_* values are YAML), so the advice must not send users
// to rewrite it; it names what is wrong and the value to write.
func TestQuotesAdviceBlamesTheValue(t *testing.T) {
	t.Parallel()
	got := QuotesAdvice("token.issuer", `"Auth Service"`)
	for _, s := range []string{`token.issuer is "\"Auth Service\""`, "literal quotes in the value itself", "quoted twice", "quote it once or not at all: Auth Service"} {
		if !strings.Contains(got, s) {
			t.Errorf("advice lacks %q: %s", s, got)
		}
	}
	if strings.Contains(got, "compose") {
		t.Errorf("advice blames compose: %s", got)
	}
}
