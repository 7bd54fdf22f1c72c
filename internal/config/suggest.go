package config

import "strings"

// SuggestKey returns a hint naming the known key a mistyped key probably
// meant — " (keys are lower case: name)" or " (did you mean name?)" — or ""
// when none is close. Every strict reader of configuration uses it, so the
// hints read the same everywhere.
func SuggestKey(key string, known []string) string {
	for _, name := range known {
		if strings.EqualFold(name, key) && name != key {
			return " (keys are lower case: " + name + ")"
		}
	}
	if best := ClosestKey(key, known); best != "" {
		return " (did you mean " + best + "?)"
	}
	return ""
}

// ClosestKey returns the known key within two edits of key (case
// ignored), or "".
func ClosestKey(key string, known []string) string {
	best, bestDist := "", 3
	for _, name := range known {
		if d := distance(strings.ToLower(key), strings.ToLower(name)); d < bestDist {
			best, bestDist = name, d
		}
	}
	return best
}

// distance is the Levenshtein distance of a and b, capped for long input.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// HasLiteralQuotes reports whether v still begins and ends with the same
// quote character: what `- KEY="value"` in a compose list or a doubly
// quoted YAML value leaves behind. An issuer or service like that never
// matches the other side's, and every login fails with a bare 401.
func HasLiteralQuotes(v string) bool {
	return len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0]
}
