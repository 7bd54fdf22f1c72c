package notify

import (
	"regexp"
	"slices"
	"strings"

	"wharf/internal/events"
)

// filter decides which events an endpoint receives.
type filter struct {
	// mediaTypes and actions are ignored (distribution's ignore and
	// ignoredmediatypes); repos, when set, are the only repositories
	// received.
	mediaTypes []string
	actions    []string
	repos      []*regexp.Regexp
}

func newFilter(ep Endpoint) filter {
	f := filter{
		mediaTypes: append(slices.Clone(ep.IgnoredMediaTypes), ep.IgnoreMediaTypes...),
		actions:    slices.Clone(ep.IgnoreActions),
	}
	for _, p := range ep.Repositories {
		f.repos = append(f.repos, globRegexp(p))
	}
	return f
}

// accepts reports whether an event with this action, repository and target
// media type (as the endpoint would receive it) passes.
func (f filter) accepts(action events.Action, repo, mediaType string) bool {
	if slices.Contains(f.actions, string(action)) || (mediaType != "" && slices.Contains(f.mediaTypes, mediaType)) {
		return false
	}
	if len(f.repos) == 0 {
		return true
	}
	for _, re := range f.repos {
		if re.MatchString(repo) {
			return true
		}
	}
	return false
}

// globRegexp compiles a repository pattern: "*" and "?" stay within one
// path segment, "**" crosses them, everything else is literal.
func globRegexp(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch {
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case p[i] == '*':
			b.WriteString("[^/]*")
		case p[i] == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}
