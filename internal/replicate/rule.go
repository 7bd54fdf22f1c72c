package replicate

import (
	"path"
	"strings"
)

// Rule is one replication rule as the composition root translates it
// from wharf.yml's replication.rules.
type Rule struct {
	Name string
	// Pull copies from the other registry to this one; otherwise this
	// registry's repositories go to the other.
	Pull bool
	// Repositories and Tags are patterns on the source's names: * and ?
	// within one path segment, ** across any number of them. No Tags
	// means every tag.
	Repositories, Tags []string
	// Prefix is put before a repository's name on the destination.
	Prefix string
}

// Target says whether the rule copies repo's tag (tag "" for a push by
// digest), and the repository's name on the destination.
func (r Rule) Target(repo, tag string) (string, bool) {
	if !r.MatchesRepository(repo) {
		return "", false
	}
	if tag != "" && len(r.Tags) > 0 && !matchAny(r.Tags, tag) {
		return "", false
	}
	if r.Prefix == "" {
		return repo, true
	}
	return r.Prefix + "/" + repo, true
}

// MatchesRepository says whether repo is one of the rule's repositories.
func (r Rule) MatchesRepository(repo string) bool {
	for _, p := range r.Repositories {
		if matchSegments(strings.Split(p, "/"), strings.Split(repo, "/")) {
			return true
		}
	}
	return false
}

// matchAny matches a tag against the rule's tag patterns.
func matchAny(patterns []string, tag string) bool {
	for _, p := range patterns {
		if ok, err := path.Match(p, tag); err == nil && ok {
			return true
		}
	}
	return false
}

// matchSegments matches a name's path segments against a pattern's: "**"
// takes any number of segments (none included), every other segment is
// path.Match's.
func matchSegments(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(name); i++ {
				if matchSegments(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, err := path.Match(pat[0], name[0]); err != nil || !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}
