package quota

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/dustin/go-humanize"

	"wharf/internal/metadata"
)

// Rule is one quota: the repositories Match accepts may hold Bytes
// together. Pattern names it in messages.
type Rule struct {
	Pattern string
	Bytes   int64
	Match   func(repo string) bool
}

// RefreshAfter is how long a rule's usage is kept before it is read again
// from the database.
const RefreshAfter = 30 * time.Second

// ExceededError is a push refused by a quota.
type ExceededError struct {
	Pattern string
	Limit   int64
	Usage   int64 // the matching repositories' usage before the push
	Added   int64 // what the push would have added
	// Blob, when positive, is the size of an upload that alone is over
	// the limit (Usage and Added are then not read).
	Blob int64
}

// Denied marks the error as a refusal to show the client, as opposed to a
// failure to decide (a database error).
func (e *ExceededError) Denied() bool { return true }

func (e *ExceededError) Error() string {
	if e.Blob > 0 {
		return fmt.Sprintf("quota %q of %s: this blob alone is %s; it can never fit, raise the quota",
			e.Pattern, humanize.IBytes(uint64(e.Limit)), humanize.IBytes(uint64(e.Blob)))
	}
	return fmt.Sprintf("quota %q of %s exceeded: its repositories use %s and this push adds %s; delete tags or repositories (wharf repo rm) and run garbage collection, or raise the quota",
		e.Pattern, humanize.IBytes(uint64(e.Limit)), humanize.IBytes(uint64(e.Usage)), humanize.IBytes(uint64(e.Added)))
}

// Enforcer checks pushes against the rules. It is safe for concurrent use.
type Enforcer struct {
	store *metadata.Store
	log   *slog.Logger
	rules []*rule
	now   func() time.Time
}

// rule is a Rule with its kept usage.
type rule struct {
	Rule
	mu     sync.Mutex
	loaded time.Time // zero: read again before use
	// usage is what the database said at loaded plus the pushes of this
	// process stored since; pending is what admitted pushes reserve until
	// their write ends. A refusal compares the limit with both.
	usage   int64
	pending int64
	repos   []string // the matching repositories at loaded, and those pushed to since
}

// New returns an Enforcer of rules over store; nil when there are none, so
// that a registry without quotas does no work per push.
func New(store *metadata.Store, log *slog.Logger, rules []Rule) *Enforcer {
	if len(rules) == 0 {
		return nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Enforcer{store: store, log: log.With("component", "quota"), now: time.Now}
	for _, r := range rules {
		e.rules = append(e.rules, &rule{Rule: r})
	}
	return e
}

// Admit checks that storing m keeps every rule matching m.Repo within its
// limit and reserves what m adds. The caller stores m and then calls
// release with whether that worked: a failed write gives the reservation
// back. A push that adds nothing (a tag moved to content the group holds)
// is always admitted, even over the limit, so that tags can still move.
func (e *Enforcer) Admit(ctx context.Context, m *metadata.Manifest) (release func(stored bool), err error) {
	type held struct {
		r     *rule
		added int64
	}
	var reserved []held
	done := func(stored bool) {
		for _, h := range reserved {
			h.r.mu.Lock()
			h.r.pending -= h.added
			if stored {
				h.r.usage += h.added
			}
			h.r.mu.Unlock()
		}
	}
	for _, r := range e.rules {
		if !r.Match(m.Repo) {
			continue
		}
		added, err := e.admit(ctx, r, m)
		if err != nil {
			done(false)
			return nil, err
		}
		reserved = append(reserved, held{r, added})
	}
	return done, nil
}

// admit checks m against one rule and reserves what it adds. The rule's
// lock is held across the check, so that two pushes of this process
// cannot both take the last bytes.
func (e *Enforcer) admit(ctx context.Context, r *rule, m *metadata.Manifest) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fresh := false
	if r.loaded.IsZero() || e.now().Sub(r.loaded) > RefreshAfter {
		if err := e.load(ctx, r); err != nil {
			return 0, err
		}
		fresh = true
	}
	for {
		repos := r.repos
		if !slices.Contains(repos, m.Repo) {
			repos = append(repos[:len(repos):len(repos)], m.Repo)
		}
		added, err := e.store.AddedBytes(ctx, repos, m)
		if err != nil {
			return 0, fmt.Errorf("quota: %s: %w", r.Pattern, err)
		}
		if added == 0 || r.usage+r.pending+added <= r.Bytes {
			r.pending += added
			r.repos = repos
			return added, nil
		}
		// A refusal is never made on a kept figure: deletes by another
		// process (wharf repo rm, a replica) may have freed the space.
		if !fresh {
			if err := e.load(ctx, r); err != nil {
				return 0, err
			}
			fresh = true
			continue
		}
		usage := r.usage + r.pending
		e.log.InfoContext(ctx, "push refused by quota", "repository", m.Repo, "quota", r.Pattern,
			"limit", r.Bytes, "usage", usage, "added", added)
		return 0, &ExceededError{Pattern: r.Pattern, Limit: r.Bytes, Usage: usage, Added: added}
	}
}

// load reads the rule's repositories and their usage; r.mu is held.
func (e *Enforcer) load(ctx context.Context, r *rule) error {
	all, err := e.store.ListRepositories(ctx, "", 0)
	if err != nil {
		return fmt.Errorf("quota: %w", err)
	}
	repos, usage, err := usageOf(ctx, e.store, all, r.Rule)
	if err != nil {
		return err
	}
	r.repos, r.usage, r.loaded = repos, usage, e.now()
	return nil
}

// usageOf returns those of all that r matches and their usage together.
func usageOf(ctx context.Context, store *metadata.Store, all []string, r Rule) ([]string, int64, error) {
	var repos []string
	for _, name := range all {
		if r.Match(name) {
			repos = append(repos, name)
		}
	}
	usage, err := store.Usage(ctx, repos)
	if err != nil {
		return nil, 0, fmt.Errorf("quota: %s: %w", r.Pattern, err)
	}
	return repos, usage, nil
}

// Forget drops the kept usage of the rules matching repo, after a delete
// in it: the next push reads the usage again.
func (e *Enforcer) Forget(repo string) {
	if e == nil {
		return
	}
	for _, r := range e.rules {
		if r.Match(repo) {
			r.mu.Lock()
			r.loaded = time.Time{}
			r.mu.Unlock()
		}
	}
}

// CheckBlob refuses a blob of size bytes for repo when it alone is more
// than a limit of a rule matching repo: no manifest could ever refer to it
// there. It reads nothing, so an upload is refused before its bytes are.
func (e *Enforcer) CheckBlob(repo string, size int64) error {
	for _, r := range e.rules {
		if size > r.Bytes && r.Match(repo) {
			return &ExceededError{Pattern: r.Pattern, Limit: r.Bytes, Blob: size}
		}
	}
	return nil
}

// Status is one rule with its usage, for listings.
type Status struct {
	Pattern      string `json:"repositories"`
	Limit        int64  `json:"limit_bytes"`
	Usage        int64  `json:"usage_bytes"`
	Repositories int    `json:"repository_count"`
}

// Statuses reads the usage of e's rules from the database, as the
// package's Statuses does.
func (e *Enforcer) Statuses(ctx context.Context) ([]Status, error) {
	rules := make([]Rule, 0, len(e.rules))
	for _, r := range e.rules {
		rules = append(rules, r.Rule)
	}
	return Statuses(ctx, e.store, rules)
}

// Statuses reads every rule's usage from the database (not the kept
// figures: a listing must be exact).
func Statuses(ctx context.Context, store *metadata.Store, rules []Rule) ([]Status, error) {
	all, err := store.ListRepositories(ctx, "", 0)
	if err != nil {
		return nil, fmt.Errorf("quota: %w", err)
	}
	out := []Status{}
	for _, r := range rules {
		repos, usage, err := usageOf(ctx, store, all, r)
		if err != nil {
			return nil, err
		}
		out = append(out, Status{Pattern: r.Pattern, Limit: r.Bytes, Usage: usage, Repositories: len(repos)})
	}
	return out, nil
}
