package retention

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

// Policy is one retention policy (retention.policies in wharf.yml).
// Globs are path.Match patterns, as in the ACL: "*" does not cross "/".
type Policy struct {
	Repositories string
	// Tags names the tags the policy may remove; "" means all.
	Tags string
	// KeepLast keeps the newest KeepLast of those tags by push time.
	KeepLast int
	// KeepWithin keeps those pushed or pulled within it.
	KeepWithin time.Duration
	// KeepTags are globs of tags always kept.
	KeepTags []string
	// UntaggedAfter deletes the manifests nothing needs once neither
	// pushed nor pulled for this long; 0 deletes none. It is also what
	// `wharf gc --delete-untagged` applies to every repository, with
	// gc.grace as the duration.
	UntaggedAfter time.Duration
}

// removesTags reports whether the policy untags at all: without keep_last
// or keep_within no tag is old enough to go.
func (p Policy) removesTags() bool { return p.KeepLast > 0 || p.KeepWithin > 0 }

// match is path.Match for patterns that configuration validation
// accepted; a bad pattern matches nothing.
func match(pattern, name string) bool {
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

// Select returns the index of the first policy whose repositories pattern
// matches repo, or -1.
func Select(policies []Policy, repo string) int {
	return slices.IndexFunc(policies, func(p Policy) bool { return match(p.Repositories, repo) })
}

// Item is one tag or manifest of a report, with the reason it goes or
// stays.
type Item struct {
	Tag    string        `json:"tag,omitempty"`
	Digest digest.Digest `json:"digest"`
	Reason string        `json:"reason"`
}

// Decision is what a policy decides for one repository: the tags to
// untag and the manifests to delete (parents before what they refer to),
// and what it kept and why.
type Decision struct {
	Repository string `json:"repository"`
	Policy     int    `json:"policy"` // index in retention.policies
	Untag      []Item `json:"untag"`
	Delete     []Item `json:"delete"`
	Kept       []Item `json:"kept"`
	// usedBefore is the time before which a manifest to delete must have
	// been last pushed and pulled, checked again when it is deleted.
	usedBefore time.Time
}

// Immutable says whether a tag is immutable and by which rule.
type Immutable func(repo, tag string) (rule string, immutable bool)

// Evaluate applies p to the repository st at now. Immutable tags are
// always kept. It is a pure function of its arguments.
func Evaluate(p Policy, index int, st *metadata.RepositoryState, now time.Time, immutable Immutable) Decision {
	d := Decision{Repository: st.Repo, Policy: index, Untag: []Item{}, Delete: []Item{}, Kept: []Item{}}
	tags := slices.Clone(st.Tags)
	// Newest first; equal times by name, so that reports are stable.
	slices.SortFunc(tags, func(a, b metadata.RetentionTag) int {
		if c := b.PushedAt.Compare(a.PushedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	remaining := map[digest.Digest]bool{}
	rank := 0
	for _, t := range tags {
		reason, keep := p.keepTag(t, &rank, now, st.Repo, immutable)
		item := Item{Tag: t.Name, Digest: t.Digest, Reason: reason}
		if keep {
			d.Kept = append(d.Kept, item)
			remaining[t.Digest] = true
		} else {
			d.Untag = append(d.Untag, item)
		}
	}
	if p.UntaggedAfter > 0 {
		d.Delete, d.Kept = p.untagged(st, remaining, now, d.Kept)
		d.usedBefore = now.Add(-p.UntaggedAfter)
	}
	return d
}

// keepTag decides about one tag; rank counts the tags the policy governs,
// newest first.
func (p Policy) keepTag(t metadata.RetentionTag, rank *int, now time.Time, repo string, immutable Immutable) (string, bool) {
	if p.Tags != "" && !match(p.Tags, t.Name) {
		return fmt.Sprintf("not matched by tags %q", p.Tags), true
	}
	*rank++
	if immutable != nil {
		if rule, ok := immutable(repo, t.Name); ok {
			return "immutable (immutable_tags " + rule + ")", true
		}
	}
	for _, k := range p.KeepTags {
		if match(k, t.Name) {
			return fmt.Sprintf("keep_tags %q", k), true
		}
	}
	if !p.removesTags() {
		return "no keep_last or keep_within: tags are not removed", true
	}
	if p.KeepLast > 0 && *rank <= p.KeepLast {
		return fmt.Sprintf("keep_last %d: newest #%d", p.KeepLast, *rank), true
	}
	if p.KeepWithin > 0 {
		if now.Sub(t.PushedAt) < p.KeepWithin {
			return fmt.Sprintf("keep_within %s: pushed %s ago", p.KeepWithin, ago(now, t.PushedAt)), true
		}
		if !t.PulledAt.IsZero() && now.Sub(t.PulledAt) < p.KeepWithin {
			return fmt.Sprintf("keep_within %s: pulled %s ago", p.KeepWithin, ago(now, t.PulledAt)), true
		}
	}
	return fmt.Sprintf("past keep_last %d and keep_within %s: pushed %s ago, %s", p.KeepLast, p.KeepWithin,
		ago(now, t.PushedAt), pulled(now, t.PulledAt)), false
}

// untagged decides about the manifests: those the remaining tags point at
// are kept, and so is everything they refer to (index children) or that
// refers to them (referrers), recursively; of the rest, those pushed or
// pulled within UntaggedAfter are kept (with what they need), the others
// deleted, parents first.
func (p Policy) untagged(st *metadata.RepositoryState, tagged map[digest.Digest]bool, now time.Time, kept []Item) (del, keptOut []Item) {
	byDigest := map[digest.Digest]*metadata.RetentionManifest{}
	referrers := map[digest.Digest][]digest.Digest{}
	for i := range st.Manifests {
		m := &st.Manifests[i]
		byDigest[m.Digest] = m
		if m.Subject != "" {
			referrers[m.Subject] = append(referrers[m.Subject], m.Digest)
		}
	}
	why := map[digest.Digest]string{}
	var queue []digest.Digest
	need := func(d digest.Digest, reason string) {
		if _, seen := why[d]; !seen && byDigest[d] != nil {
			why[d] = reason
			queue = append(queue, d)
		}
	}
	for d := range tagged {
		need(d, "tagged")
	}
	for _, m := range st.Manifests {
		if last := latest(m); now.Sub(last) < p.UntaggedAfter {
			need(m.Digest, fmt.Sprintf("untagged_after %s: pushed or pulled %s ago", p.UntaggedAfter, ago(now, last)))
		}
	}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		for _, c := range byDigest[d].Children {
			need(c, "child of kept index "+d.String())
		}
		for _, r := range referrers[d] {
			need(r, "referrer of kept manifest "+d.String())
		}
	}
	for _, m := range st.Manifests {
		reason, keep := why[m.Digest]
		switch {
		case keep && reason != "tagged":
			kept = append(kept, Item{Digest: m.Digest, Reason: reason})
		case !keep:
			del = append(del, Item{Digest: m.Digest, Reason: fmt.Sprintf("untagged and unreferenced: pushed %s ago, %s",
				ago(now, pushed(m)), pulled(now, m.PulledAt))})
		}
	}
	return parentsFirst(del, byDigest), kept
}

// parentsFirst orders deletions so that a manifest comes after every
// deleted manifest referring to it (as child or as subject): the store
// refuses to delete a manifest something still refers to.
func parentsFirst(del []Item, byDigest map[digest.Digest]*metadata.RetentionManifest) []Item {
	deleted := map[digest.Digest]bool{}
	for _, it := range del {
		deleted[it.Digest] = true
	}
	// A manifest's parents are the deleted manifests naming it as child
	// or subject; depth is the longest chain of them above it. Digests
	// make cycles impossible.
	parents := map[digest.Digest][]digest.Digest{}
	for _, it := range del {
		m := byDigest[it.Digest]
		for _, c := range m.Children {
			if deleted[c] {
				parents[c] = append(parents[c], it.Digest)
			}
		}
		if m.Subject != "" && deleted[m.Subject] {
			parents[m.Subject] = append(parents[m.Subject], it.Digest)
		}
	}
	depth := map[digest.Digest]int{}
	var depthOf func(d digest.Digest) int
	depthOf = func(d digest.Digest) int {
		if n, ok := depth[d]; ok {
			return n
		}
		n := 0
		for _, p := range parents[d] {
			n = max(n, depthOf(p)+1)
		}
		depth[d] = n
		return n
	}
	for _, it := range del {
		depthOf(it.Digest)
	}
	out := slices.Clone(del)
	slices.SortStableFunc(out, func(a, b Item) int { return cmp.Compare(depth[a.Digest], depth[b.Digest]) })
	return out
}

// pushed is when m was last pushed.
func pushed(m metadata.RetentionManifest) time.Time {
	if m.PushedAt.After(m.CreatedAt) {
		return m.PushedAt
	}
	return m.CreatedAt
}

// latest is when m was last pushed or pulled.
func latest(m metadata.RetentionManifest) time.Time {
	if m.PulledAt.After(pushed(m)) {
		return m.PulledAt
	}
	return pushed(m)
}

// ago rounds a span for reports.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	case d >= time.Hour:
		return d.Truncate(time.Minute).String()
	default:
		return d.Truncate(time.Second).String()
	}
}

func pulled(now, t time.Time) string {
	if t.IsZero() {
		return "never pulled"
	}
	return "last pulled " + ago(now, t) + " ago"
}
