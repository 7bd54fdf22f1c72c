package compat

import (
	"wharf/internal/config"
)

// Setting is one configured value under the foreign format's key name.
type Setting struct{ Key, Value string }

// Message explains a setting with literal quotes, naming its key.
func (s Setting) Message() string { return config.QuotesAdvice(s.Key, s.Value) }

// Quoted keeps the settings whose value still begins and ends with a quote
// (config.HasLiteralQuotes).
func Quoted(settings []Setting) []Setting {
	var out []Setting
	for _, s := range settings {
		if config.HasLiteralQuotes(s.Value) {
			out = append(out, s)
		}
	}
	return out
}

// Messages is Message for every setting.
func Messages(settings []Setting) []string {
	var out []string
	for _, s := range settings {
		out = append(out, s.Message())
	}
	return out
}
