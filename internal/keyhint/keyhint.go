package keyhint

import "strings"

// Suggest returns a hint naming the known key a mistyped key probably
// meant — " (keys are lower case: name)" or " (did you mean name?)" — or ""
// when none is close.
func Suggest(key string, known []string) string {
	for _, name := range known {
		if strings.EqualFold(name, key) && name != key {
			return " (keys are lower case: " + name + ")"
		}
	}
	if best := Closest(key, known); best != "" {
		return " (did you mean " + best + "?)"
	}
	return ""
}

// Closest returns the known key within two edits of key (case ignored), or
// "".
func Closest(key string, known []string) string {
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
