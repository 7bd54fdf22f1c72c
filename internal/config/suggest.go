package config

// HasLiteralQuotes reports whether v still begins and ends with the same
// quote character: what `- KEY="value"` in a compose list or a doubly
// quoted YAML value leaves behind. An issuer or service like that never
// matches the other side's, and every login fails with a bare 401.
func HasLiteralQuotes(v string) bool {
	return len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0]
}
