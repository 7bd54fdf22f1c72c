package config

import "fmt"

// HasLiteralQuotes reports whether v still begins and ends with the same
// quote character: a value quoted twice (issuer: '"Auth Service"' in YAML,
// REGISTRY_AUTH_TOKEN_ISSUER='"Auth Service"'), whose inner quotes are
// part of it. An issuer or service like that never matches the other
// side's, and every login fails with a bare 401.
func HasLiteralQuotes(v string) bool {
	return len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0]
}

// QuotesAdvice explains a value that HasLiteralQuotes, under key. It does
// not blame compose's list syntax (- KEY="value"): REGISTRY_* values and
// every YAML file are read as YAML, as distribution reads them, which
// removes one pair of quotes. What is left was quoted twice, in the file
// or around a variable's value.
func QuotesAdvice(key, value string) string {
	return fmt.Sprintf("%s is %q with literal quotes in the value itself: it matches no %s written without them "+
		"(it was quoted twice, e.g. '\"…\"' in YAML or KEY='\"…\"' in an environment variable or env-file); "+
		"quote it once or not at all: %s", key, value, key, value[1:len(value)-1])
}
