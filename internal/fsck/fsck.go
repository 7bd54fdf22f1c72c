package fsck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
	"wharf/internal/progress"
	"wharf/internal/storage"
)

// Kind names a problem.
type Kind string

// The problems fsck finds.
const (
	BlobMissing      Kind = "blob-missing"       // a blob row with no bytes in storage
	BlobSize         Kind = "blob-size"          // bytes of another size than the row says
	BlobDigest       Kind = "blob-digest"        // bytes that do not hash to their digest
	BlobUnreadable   Kind = "blob-unreadable"    // bytes storage could not read back
	ManifestDigest   Kind = "manifest-digest"    // a manifest payload that does not hash to its digest
	ReferenceMissing Kind = "reference-missing"  // a config or layer with no blob row
	ReferenceUnlink  Kind = "reference-unlinked" // a config or layer not linked in the manifest's repository
	ChildMissing     Kind = "child-missing"      // an index child not in the index's repository
)

// ErrProblems is returned by Run when it found at least one problem.
var ErrProblems = errors.New("fsck: problems found")

// Problem is one thing wrong, with what it makes unpullable.
type Problem struct {
	Kind   Kind          `json:"kind"`
	Digest digest.Digest `json:"digest"`
	// Repository and Manifest locate a manifest's problem; Digest is then
	// the reference at fault (or the manifest itself, for ManifestDigest).
	Repository string        `json:"repository,omitempty"`
	Manifest   digest.Digest `json:"manifest,omitempty"`
	Detail     string        `json:"detail"`
	// Repositories link the blob or hold manifests that need it; Tags
	// ("repository:tag") can no longer be pulled because of it.
	Repositories []string `json:"repositories,omitempty"`
	Tags         []string `json:"tags,omitempty"`
	// Repair says what --repair did about it.
	Repair string `json:"repair,omitempty"`
}

// Orphan is a committed blob in storage with no row.
type Orphan struct {
	Digest digest.Digest `json:"digest"`
	Size   int64         `json:"size"`
}

// Report is what a run checked and found.
type Report struct {
	Blobs       int64     `json:"blobs"`
	Bytes       int64     `json:"bytes"`
	Manifests   int64     `json:"manifests"`
	Tags        int64     `json:"tags"`
	Problems    []Problem `json:"problems"`
	Orphans     []Orphan  `json:"orphans"`
	OrphanBytes int64     `json:"orphan_bytes"`
	// NotFetched counts the references of cached manifests (filled by the
	// pull-through cache) the registry does not hold yet: the cache
	// fetches them on their first pull, so they are no problem.
	NotFetched int64 `json:"not_fetched"`
	// Untagged lists the tags --repair removed ("repository:tag").
	Untagged []string `json:"untagged"`
	// Unchecked says what this run could not check, and why.
	Unchecked []string `json:"unchecked"`
	Repaired  bool     `json:"repaired"`
	Seconds   float64  `json:"seconds"`
}

// Options tune a run.
type Options struct {
	// Repair quarantines corrupt blobs and untags manifests that cannot be
	// pulled.
	Repair bool
	// Quarantine is the directory corrupt blobs are moved to (Repair).
	Quarantine string
	// Progress, if set, shows how far the run is.
	Progress *progress.Line
}

// Run checks meta against blobs. The returned error wraps ErrProblems when
// the report lists problems; any other error means the check itself failed
// (the report then holds what was checked until then).
func Run(ctx context.Context, meta *metadata.Store, blobs storage.Driver, log *slog.Logger, opts Options) (*Report, error) {
	if opts.Repair && opts.Quarantine == "" {
		return nil, errors.New("fsck: repair needs a quarantine directory")
	}
	start := time.Now()
	c := &checker{meta: meta, blobs: blobs, log: log, opts: opts, rep: &Report{Problems: []Problem{}, Orphans: []Orphan{},
		Untagged: []string{}, Unchecked: []string{}, Repaired: opts.Repair},
		bad: map[digest.Digest]int{}, rows: map[digest.Digest]bool{}, nodes: map[nodeKey]*node{}}
	c.startProgress(ctx)
	err := c.run(ctx)
	if opts.Progress != nil {
		opts.Progress.Finish()
	}
	c.rep.Seconds = time.Since(start).Seconds()
	if err != nil {
		return c.rep, err
	}
	if n := len(c.rep.Problems); n > 0 {
		return c.rep, fmt.Errorf("%w: %d", ErrProblems, n)
	}
	return c.rep, nil
}

type checker struct {
	meta  *metadata.Store
	blobs storage.Driver
	log   *slog.Logger
	opts  Options
	rep   *Report

	// bad maps a blob found wrong to its problem's index; rows holds every
	// blob row read (the orphan walk's reference).
	bad   map[digest.Digest]int
	rows  map[digest.Digest]bool
	nodes map[nodeKey]*node
	// cached are the repositories the pull-through cache filled.
	cached map[string]string
	// broken are the tags of manifests that cannot be pulled.
	broken []unpullable

	totalBlobs, totalBytes int64 // for the progress line
}

func (c *checker) run(ctx context.Context) error {
	if err := c.checkBlobs(ctx); err != nil {
		return err
	}
	if err := c.findOrphans(ctx); err != nil {
		return err
	}
	cached, err := c.meta.CachedRepositories(ctx)
	if err != nil {
		return fmt.Errorf("fsck: %w", err)
	}
	c.cached = cached
	if err := c.checkManifests(ctx); err != nil {
		return err
	}
	if err := c.checkTags(ctx); err != nil {
		return err
	}
	c.rep.Unchecked = append(c.rep.Unchecked,
		"upload sessions in progress (their staged bytes are verified when they finish; garbage collection removes abandoned ones)")
	for i := range c.rep.Problems {
		sort.Strings(c.rep.Problems[i].Repositories)
		sort.Strings(c.rep.Problems[i].Tags)
	}
	if c.opts.Repair {
		return c.repair(ctx)
	}
	return nil
}

func (c *checker) startProgress(ctx context.Context) {
	p := c.opts.Progress
	if p == nil {
		return
	}
	n, bytes, err := c.meta.BlobTotals(ctx)
	if err != nil {
		n, bytes = 0, 0 // the line shows no totals; the check itself reports the database's error
	}
	p.Update(func() { c.totalBlobs, c.totalBytes = n, bytes })
	p.Start(func() string {
		return fmt.Sprintf("blobs %d/%d  %s/%s  manifests %d  tags %d  problems %d",
			c.rep.Blobs, c.totalBlobs, progress.Bytes(c.rep.Bytes), progress.Bytes(c.totalBytes),
			c.rep.Manifests, c.rep.Tags, len(c.rep.Problems))
	})
}

// count changes the report's counters under the progress line's lock.
func (c *checker) count(fn func()) {
	if c.opts.Progress == nil {
		fn()
		return
	}
	c.opts.Progress.Update(fn)
}

// add records a problem and returns its index.
func (c *checker) add(p Problem) int {
	i := 0
	c.count(func() {
		c.rep.Problems = append(c.rep.Problems, p)
		i = len(c.rep.Problems) - 1
	})
	return i
}

func addUnique(list []string, s string) []string {
	for _, v := range list {
		if v == s {
			return list
		}
	}
	return append(list, s)
}
