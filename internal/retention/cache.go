package retention

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
	"wharf/internal/progress"
)

// CacheRule bounds what the pull-through cache keeps of one upstream's
// repositories (proxy.upstreams[].max_size and evict_after). Only
// repositories the cache filled are touched: what was pushed is never
// evicted.
type CacheRule struct {
	// Prefix is the upstream's; "" is the mirror, which owns the cached
	// repositories no other prefix claims.
	Prefix string
	// MaxSize caps the deduplicated size of its cached repositories: the
	// least recently pulled tags go first until the rest fits. 0: no cap.
	MaxSize int64
	// EvictAfter untags the cached tags neither fetched nor pulled for
	// this long. 0: none.
	EvictAfter time.Duration
}

// cacheRule returns the index of the rule owning a cached repository (the
// longest prefix, else the mirror's), or -1.
func (r *Runner) cacheRule(repo string) int {
	best, bestLen := -1, -1
	for i, c := range r.Cache {
		if c.Prefix != "" && !strings.HasPrefix(repo, c.Prefix+"/") {
			continue
		}
		if len(c.Prefix) > bestLen {
			best, bestLen = i, len(c.Prefix)
		}
	}
	return best
}

// cachedTag is one tag of a cached repository, with what untagging it
// would free.
type cachedTag struct {
	repo string
	tag  metadata.RetentionTag
	last time.Time       // fetched (moved) or pulled, whichever is later
	refs []digest.Digest // its manifest, its children and their blobs
}

// evictCached applies the cache rules to the repositories the cache
// filled, adding its decisions to rep (Decision.Policy is CachePolicy).
func (r *Runner) evictCached(ctx context.Context, dryRun bool, rep *Report) error {
	if len(r.Cache) == 0 {
		return nil
	}
	cached, err := r.Meta.CachedRepositories(ctx)
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	groups := make([][]string, len(r.Cache))
	for name := range cached {
		if i := r.cacheRule(name); i >= 0 {
			groups[i] = append(groups[i], name)
		}
	}
	for i, repos := range groups {
		rule := r.Cache[i]
		if len(repos) == 0 || (rule.MaxSize <= 0 && rule.EvictAfter <= 0) {
			continue
		}
		slices.Sort(repos)
		if err := r.evictGroup(ctx, dryRun, rule, repos, rep); err != nil {
			return err
		}
	}
	return nil
}

// CachePolicy is the index Decision.Policy shows for the cache's own
// retention, which is no policy of retention.policies.
const CachePolicy = -2

func (r *Runner) evictGroup(ctx context.Context, dryRun bool, rule CacheRule, repos []string, rep *Report) error {
	now := r.now()
	tags, sizes, err := r.cachedTags(ctx, repos)
	if err != nil {
		return err
	}
	// Least recently used first; ties by name, so that reports are stable.
	slices.SortFunc(tags, func(a, b cachedTag) int {
		return cmp.Or(a.last.Compare(b.last), cmp.Compare(a.repo, b.repo), cmp.Compare(a.tag.Name, b.tag.Name))
	})
	uses := map[digest.Digest]int{}
	for _, t := range tags {
		for _, d := range t.refs {
			uses[d]++
		}
	}
	used := int64(0)
	if rule.MaxSize > 0 {
		if used, err = r.Meta.Usage(ctx, repos); err != nil {
			return fmt.Errorf("retention: %w", err)
		}
	}
	decisions := map[string]*Decision{}
	evicted := map[string]bool{} // "repo@digest" of the manifests evicted tags needed
	untag := func(t cachedTag, reason string) {
		d := decisions[t.repo]
		if d == nil {
			d = &Decision{Repository: t.repo, Policy: CachePolicy, Untag: []Item{}, Delete: []Item{}, Kept: []Item{}}
			decisions[t.repo] = d
		}
		d.Untag = append(d.Untag, Item{Tag: t.tag.Name, Digest: t.tag.Digest, Reason: reason})
		for _, dg := range t.refs {
			if strings.HasPrefix(string(dg), t.repo+"@") {
				evicted[string(dg)] = true
			}
			if uses[dg]--; uses[dg] == 0 {
				used -= sizes[dg]
			}
		}
	}
	for _, t := range tags {
		idle := now.Sub(t.last)
		switch {
		case rule.EvictAfter > 0 && idle >= rule.EvictAfter:
			untag(t, fmt.Sprintf("evict_after %s: fetched or pulled %s ago", rule.EvictAfter, ago(now, t.last)))
		case rule.MaxSize > 0 && used > rule.MaxSize:
			untag(t, fmt.Sprintf("max_size %s: the cache of this upstream holds %s; least recently used (%s ago)",
				progress.Bytes(rule.MaxSize), progress.Bytes(used), ago(now, t.last)))
		}
	}
	for _, repo := range repos {
		d := decisions[repo]
		if d == nil {
			continue
		}
		if dryRun {
			r.count(func() { rep.Untagged += len(d.Untag) })
		} else {
			if err := r.apply(ctx, *d, rep); err != nil {
				return err
			}
			// What the untagging left without a tag goes at once, so that
			// garbage collection reclaims its blobs.
			if err := r.dropUntagged(ctx, repo, evicted, rep); err != nil {
				return err
			}
		}
		rep.Repositories = append(rep.Repositories, *d)
	}
	return nil
}

// dropUntagged deletes the manifests of evicted tags ("repo@digest") that
// no tag needs any more; other untagged manifests (pulled by digest) stay.
func (r *Runner) dropUntagged(ctx context.Context, repo string, evicted map[string]bool, rep *Report) error {
	st, err := r.Meta.RepositoryState(ctx, repo)
	if errors.Is(err, metadata.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("retention: %s: %w", repo, err)
	}
	d := Evaluate(Policy{UntaggedAfter: time.Nanosecond}, CachePolicy, st, r.now(), r.Immutable)
	d.Untag = nil
	d.Delete = slices.DeleteFunc(d.Delete, func(it Item) bool { return !evicted[repo+"@"+it.Digest.String()] })
	return r.apply(ctx, d, rep)
}

// cachedTags reads the tags of repos with what each needs (its manifest,
// an index's children, their blobs), and the sizes of those.
func (r *Runner) cachedTags(ctx context.Context, repos []string) ([]cachedTag, map[digest.Digest]int64, error) {
	sizes := map[digest.Digest]int64{}
	var out []cachedTag
	for _, repo := range repos {
		st, err := r.Meta.RepositoryState(ctx, repo)
		if errors.Is(err, metadata.ErrNotFound) {
			continue // evicted and collected: the name stays the cache's
		}
		if err != nil {
			return nil, nil, fmt.Errorf("retention: %s: %w", repo, err)
		}
		for _, t := range st.Tags {
			refs, err := r.manifestRefs(ctx, repo, t.Digest, sizes, 0)
			if err != nil {
				return nil, nil, err
			}
			last := t.PushedAt
			if t.PulledAt.After(last) {
				last = t.PulledAt
			}
			out = append(out, cachedTag{repo: repo, tag: t, last: last, refs: refs})
		}
	}
	return out, sizes, nil
}

// manifestRefs lists a manifest, its blobs and (for an index) its
// children's, noting their sizes. A part the cache never fetched frees
// nothing and counts 0.
func (r *Runner) manifestRefs(ctx context.Context, repo string, dg digest.Digest, sizes map[digest.Digest]int64, depth int) ([]digest.Digest, error) {
	m, err := r.Meta.GetManifest(ctx, repo, dg)
	if errors.Is(err, metadata.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("retention: %s@%s: %w", repo, dg, err)
	}
	// Manifests are keyed by repository, blobs are shared.
	key := digest.Digest(repo + "@" + dg.String())
	sizes[key] = m.Size
	out := []digest.Digest{key}
	for _, ref := range m.Refs {
		if ref.Kind == metadata.RefManifest {
			if depth < 2 {
				children, err := r.manifestRefs(ctx, repo, ref.Digest, sizes, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, children...)
			}
			continue
		}
		if _, ok := sizes[ref.Digest]; !ok {
			size, err := r.Meta.BlobSize(ctx, ref.Digest)
			if err != nil && !errors.Is(err, metadata.ErrNotFound) {
				return nil, fmt.Errorf("retention: %w", err)
			}
			sizes[ref.Digest] = size
		}
		out = append(out, ref.Digest)
	}
	return out, nil
}
