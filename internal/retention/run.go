package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
	"wharf/internal/progress"
)

// ImmutableRule is one immutable_tags entry; Name is how messages show it.
type ImmutableRule struct {
	Repositories, Tags, Name string
}

// Guard returns the store's tag guard for rules (nil when there are none):
// the first rule whose globs match the repository and the tag freezes it.
func Guard(rules []ImmutableRule) metadata.TagGuard {
	if len(rules) == 0 {
		return nil
	}
	return func(repo, tag string) (string, bool) {
		for _, r := range rules {
			if match(r.Repositories, repo) && match(r.Tags, tag) {
				return r.Name, true
			}
		}
		return "", false
	}
}

// Report is what one run decided and did.
type Report struct {
	DryRun       bool       `json:"dry_run"`
	Started      time.Time  `json:"started"`
	Duration     string     `json:"duration"`
	Repositories []Decision `json:"repositories"` // those a policy applies to, in name order
	// Untagged and Deleted count what was removed (a dry run: what would
	// be); Skipped what changed since the evaluation and was left alone.
	Untagged int      `json:"untagged"`
	Deleted  int      `json:"deleted"`
	Skipped  []string `json:"skipped"`
}

// ErrReadOnly refuses a run (not a dry run) while the registry is
// read-only: maintenance expects the metadata to stay as it is.
var ErrReadOnly = errors.New("retention: the registry is read-only")

// Runner evaluates the policies over a store and applies them.
type Runner struct {
	Meta      *metadata.Store
	Policies  []Policy
	Immutable Immutable // nil: none
	// ReadOnly is the configuration's read_only; the database's mode is
	// read at each run.
	ReadOnly bool
	Log      *slog.Logger
	Now      func() time.Time // nil: time.Now
	// Progress, when set, shows the repositories done (wharf retention).
	Progress *progress.Line
	// Cache bounds what the pull-through cache keeps, per upstream.
	Cache []CacheRule
	// Turn, when set, tells Schedule whether this replica runs the
	// scheduled run now (the job's lease in the database); nil: always.
	Turn func(ctx context.Context) (bool, error)
}

// Run evaluates every repository a policy applies to and, unless dryRun,
// untags and deletes what the decision says, each through a conditional
// delete of the store: a tag moved or a manifest tagged or referenced
// again since it was read stays, and is listed in Report.Skipped.
//
// The cache rules then bound what the pull-through cache keeps (see
// CacheRule); their decisions follow the policies' in the report.
func (r *Runner) Run(ctx context.Context, dryRun bool) (*Report, error) {
	if len(r.Policies) == 0 && len(r.Cache) == 0 {
		return &Report{DryRun: dryRun, Started: r.now().UTC(), Duration: "0s", Repositories: []Decision{}, Skipped: []string{}}, nil
	}
	start := time.Now()
	rep, err := r.run(ctx, dryRun, func(repo string) (Policy, int, bool) {
		i := Select(r.Policies, repo)
		if i < 0 {
			return Policy{}, i, false
		}
		return r.Policies[i], i, true
	})
	if err != nil {
		return nil, err
	}
	if err := r.evictCached(ctx, dryRun, rep); err != nil {
		return nil, err
	}
	rep.Duration = time.Since(start).Round(time.Millisecond).String()
	return rep, nil
}

// UntaggedPolicy is the index Decision.Policy shows for DeleteUntagged's
// rule, which is no policy of retention.policies.
const UntaggedPolicy = -1

// DeleteUntagged applies the untagged_after rule alone, with after as its
// duration, to every repository, whatever its policies say: what
// `wharf gc --delete-untagged` does before it collects blobs. It untags
// nothing. after must be positive: a push in flight has untagged manifests
// (an index's children land before the index).
func (r *Runner) DeleteUntagged(ctx context.Context, dryRun bool, after time.Duration) (*Report, error) {
	if after <= 0 {
		return nil, fmt.Errorf("retention: deleting untagged manifests needs a positive age, not %s: a push in flight has untagged manifests", after)
	}
	p := Policy{UntaggedAfter: after}
	return r.run(ctx, dryRun, func(string) (Policy, int, bool) { return p, UntaggedPolicy, true })
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// run evaluates the policy pick gives each repository (none when its
// last result is false) and applies the decisions.
func (r *Runner) run(ctx context.Context, dryRun bool, pick func(repo string) (Policy, int, bool)) (*Report, error) {
	now := r.now
	rep := &Report{DryRun: dryRun, Started: now().UTC(), Repositories: []Decision{}, Skipped: []string{}}
	start := time.Now()
	if !dryRun {
		if err := r.checkWritable(ctx); err != nil {
			return nil, err
		}
	}
	// Flushed first, so that the pulls of the last seconds count.
	if err := r.Meta.FlushPulls(ctx); err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	repos, err := r.Meta.ListRepositories(ctx, "", 0)
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	done := 0
	if r.Progress != nil {
		r.Progress.Start(func() string {
			return fmt.Sprintf("%d/%d repositories, %d tags and %d manifests", done, len(repos), rep.Untagged, rep.Deleted)
		})
		defer r.Progress.Finish()
	}
	for _, repo := range repos {
		if r.Progress != nil {
			r.Progress.Update(func() { done++ })
		}
		p, i, ok := pick(repo)
		if !ok {
			continue
		}
		st, err := r.Meta.RepositoryState(ctx, repo)
		if errors.Is(err, metadata.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("retention: %s: %w", repo, err)
		}
		d := Evaluate(p, i, st, now(), r.Immutable)
		if dryRun {
			r.count(func() { rep.Untagged += len(d.Untag); rep.Deleted += len(d.Delete) })
		} else if err := r.apply(ctx, d, rep); err != nil {
			return nil, err
		}
		if len(d.Untag)+len(d.Delete) > 0 || len(d.Kept) > 0 {
			rep.Repositories = append(rep.Repositories, d)
		}
	}
	rep.Duration = time.Since(start).Round(time.Millisecond).String()
	return rep, nil
}

// count changes the report's counters under the progress line's lock.
func (r *Runner) count(fn func()) {
	if r.Progress == nil {
		fn()
		return
	}
	r.Progress.Update(fn)
}

// checkWritable refuses a run while the registry is read-only.
func (r *Runner) checkWritable(ctx context.Context) error {
	if r.ReadOnly {
		return fmt.Errorf("%w (read_only is set in the configuration); --dry-run reports without removing", ErrReadOnly)
	}
	st, err := r.Meta.ReadOnly(ctx)
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	if st.Enabled {
		return fmt.Errorf("%w (%s); a dry run reports without removing, or turn read-only mode off first", ErrReadOnly, st.Reason)
	}
	return nil
}

// apply carries out d.
func (r *Runner) apply(ctx context.Context, d Decision, rep *Report) error {
	for _, it := range d.Untag {
		// Immutable tags never get here: Evaluate keeps them.
		removed, err := r.Meta.UntagIf(ctx, d.Repository, it.Tag, it.Digest)
		switch {
		case err != nil:
			return fmt.Errorf("retention: untag %s:%s: %w", d.Repository, it.Tag, err)
		case removed:
			r.count(func() { rep.Untagged++ })
		default:
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s:%s: moved or deleted since it was read", d.Repository, it.Tag))
		}
	}
	// Deleted deleteBatch to a transaction, in Evaluate's order (parents
	// first): one commit to wait for per batch rather than per manifest.
	for start := 0; start < len(d.Delete); start += deleteBatch {
		chunk := d.Delete[start:min(start+deleteBatch, len(d.Delete))]
		dgsts := make([]digest.Digest, len(chunk))
		for i, it := range chunk {
			dgsts[i] = it.Digest
		}
		outcomes, err := r.Meta.DeleteUntaggedBatch(ctx, d.Repository, dgsts, d.usedBefore)
		if err != nil {
			return fmt.Errorf("retention: delete untagged manifests of %s: %w", d.Repository, err)
		}
		for i, err := range outcomes {
			if err == nil {
				r.count(func() { rep.Deleted++ })
				continue
			}
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s@%s: deleted, tagged, referenced, pushed or pulled since it was read", d.Repository, dgsts[i]))
		}
	}
	return nil
}

// deleteBatch is how many manifests one delete transaction takes: each
// holds its manifest's row lock until the commit, which a push referring
// to that manifest waits for, so the batch stays short.
const deleteBatch = 128

// Schedule runs r every interval until ctx ends, with one log line per
// run; a failed run is logged and the next one tries again.
func (r *Runner) Schedule(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if r.Turn != nil {
			mine, err := r.Turn(ctx)
			if err != nil && ctx.Err() == nil {
				r.Log.WarnContext(ctx, "retention run skipped: cannot take its turn", "err", err, "next_in", interval)
			}
			if !mine {
				continue
			}
		}
		rep, err := r.Run(ctx, false)
		if errors.Is(err, ErrReadOnly) {
			r.Log.InfoContext(ctx, "retention run skipped: the registry is read-only", "next_in", interval)
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				r.Log.ErrorContext(ctx, "retention run failed; the next run tries again", "err", err, "next_in", interval)
			}
			continue
		}
		r.Log.InfoContext(ctx, "retention run", "repositories", len(rep.Repositories), "untagged", rep.Untagged,
			"deleted", rep.Deleted, "skipped", len(rep.Skipped), "took", rep.Duration)
	}
}
