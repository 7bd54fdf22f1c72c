package metadata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"
)

// Garbage collection's queries. A blob is garbage when no manifest refers
// to it and neither its row nor any of its links is younger than the grace
// period's start (before); the sweep deletes a batch of blobs per short
// transaction that checks all of that again under an exclusive lock on
// each blob's row, the lock a manifest PUT takes shared on every blob it
// refers to (checkRef). docs/architecture.md tells the whole protocol.
const (
	unreferencedBlobsQuery = `SELECT b.digest, b.size FROM blobs b
WHERE b.digest > ? AND b.created_at < ?
AND NOT EXISTS (SELECT 1 FROM manifest_refs mr WHERE mr.digest = b.digest)
AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.blob_digest = b.digest AND rb.created_at >= ?)
ORDER BY b.digest LIMIT ?`

	// An untagged manifest: pushed (first and last) before the grace
	// period, no tag names it, no index of its repository lists it, and its
	// subject (if any) is not in its repository.
)

// GarbageBlob is a blob that garbage collection may delete.
type GarbageBlob struct {
	Digest digest.Digest
	Size   int64
}

// UnreferencedBlobs returns up to limit blobs, in digest order after after,
// that no manifest refers to and that were neither committed nor linked
// into a repository at or after before.
func (s *Store) UnreferencedBlobs(ctx context.Context, before time.Time, after digest.Digest, limit int) ([]GarbageBlob, error) {
	t := unixNano(before)
	rows, err := s.read().query(ctx, unreferencedBlobsQuery, after.String(), t, t, max(limit, 1))
	if err != nil {
		return nil, wrap("unreferenced blobs", err)
	}
	defer rows.Close()
	var out []GarbageBlob
	for rows.Next() {
		var b GarbageBlob
		if err := rows.Scan(&b.Digest, &b.Size); err != nil {
			return nil, wrap("unreferenced blobs", err)
		}
		out = append(out, b)
	}
	return out, wrap("unreferenced blobs", rows.Err())
}

// SweepCheck is what DeleteGarbageBlob checks again under the lock.
type SweepCheck struct {
	// Before is the start of the grace period: anything committed or
	// linked at or after it is kept.
	Before time.Time
	// Deleted, when set, is called after the rows are deleted and before
	// the transaction commits, while the lock is held: tests use it to
	// start a concurrent push at the narrowest moment.
	Deleted func()
}

// DeleteGarbageBlob deletes the blob's row and links when it is still
// garbage (see UnreferencedBlobs), checked again in a transaction that holds
// the blob's row exclusively. It returns the blob's size and whether it was
// deleted. The caller removes the bytes after this returns: a crash in
// between leaves a file without a row, which the next collection removes.
func (s *Store) DeleteGarbageBlob(ctx context.Context, dgst digest.Digest, check SweepCheck) (int64, bool, error) {
	gone, err := s.DeleteGarbageBlobs(ctx, []digest.Digest{dgst}, check)
	if err != nil || len(gone) == 0 {
		return 0, false, err
	}
	return gone[0].Size, true, nil
}

// DeleteGarbageBlobs is DeleteGarbageBlob for several blobs in one
// transaction (one commit to wait for, not one each), with one statement
// per step for all of them: it returns those it deleted. Rows are locked
// in digest order.
func (s *Store) DeleteGarbageBlobs(ctx context.Context, dgsts []digest.Digest, check SweepCheck) ([]GarbageBlob, error) {
	var gone []GarbageBlob
	before := unixNano(check.Before)
	err := s.inTx(ctx, func(c conn) (err error) {
		restore, err := c.widenCache(ctx)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, restore()) }()
		gone = gone[:0]
		for start := 0; start < len(dgsts); start += maxSweepArgs {
			part, err := deleteGarbage(ctx, c, dgsts[start:min(start+maxSweepArgs, len(dgsts))], before)
			if err != nil {
				return err
			}
			gone = append(gone, part...)
		}
		if check.Deleted != nil && len(gone) > 0 {
			check.Deleted()
		}
		return nil
	})
	if err != nil {
		return nil, wrap("delete garbage blobs", err)
	}
	return gone, nil
}

// maxSweepArgs bounds the digests of one statement, well below every
// database's limit on parameters.
const maxSweepArgs = 512

// deleteGarbage locks the rows of dgsts, checks again that nothing refers
// to them and that they were not committed or linked at or after before,
// and deletes the links and rows of those still garbage.
func deleteGarbage(ctx context.Context, c conn, dgsts []digest.Digest, before int64) ([]GarbageBlob, error) {
	var cands []GarbageBlob
	err := c.queryDynamic(ctx, "SELECT digest, size, created_at FROM blobs WHERE digest IN ("+idList(len(dgsts))+
		") ORDER BY digest"+c.d.forUpdate, digestArgs(dgsts), func(r *sql.Rows) error {
		var (
			b       GarbageBlob
			created int64
		)
		if err := r.Scan(&b.Digest, &b.Size, &created); err != nil {
			return err
		}
		if created < before {
			cands = append(cands, b)
		}
		return nil
	})
	if err != nil || len(cands) == 0 {
		return nil, err
	}
	// Read after the locks are granted, so a manifest PUT that held a row
	// shared has committed and its references are visible.
	kept := make(map[digest.Digest]bool)
	collect := func(r *sql.Rows) error {
		var d digest.Digest
		if err := r.Scan(&d); err != nil {
			return err
		}
		kept[d] = true
		return nil
	}
	args := digestArgs(garbageDigests(cands))
	in := idList(len(cands))
	if err := c.queryDynamic(ctx, "SELECT DISTINCT digest FROM manifest_refs WHERE digest IN ("+in+")", args, collect); err != nil {
		return nil, err
	}
	if err := c.queryDynamic(ctx, "SELECT DISTINCT blob_digest FROM repository_blobs WHERE created_at >= ? AND blob_digest IN ("+in+")",
		append([]any{before}, args...), collect); err != nil {
		return nil, err
	}
	gone := cands[:0]
	for _, b := range cands {
		if !kept[b.Digest] {
			gone = append(gone, b)
		}
	}
	if len(gone) == 0 {
		return nil, nil
	}
	args, in = digestArgs(garbageDigests(gone)), idList(len(gone))
	for _, q := range []string{
		"DELETE FROM repository_blobs WHERE blob_digest IN (" + in + ")",
		"DELETE FROM blobs WHERE digest IN (" + in + ")",
	} {
		if _, err := c.exec(ctx, q, args...); err != nil {
			return nil, err
		}
	}
	return gone, nil
}

func garbageDigests(bs []GarbageBlob) []digest.Digest {
	out := make([]digest.Digest, len(bs))
	for i, b := range bs {
		out[i] = b.Digest
	}
	return out
}

func digestArgs(dgsts []digest.Digest) []any {
	out := make([]any, len(dgsts))
	for i, d := range dgsts {
		out[i] = d.String()
	}
	return out
}

// prepare puts queries in the statement cache, outside any transaction: a
// transaction only uses statements prepared already (Store.stmt), and
// parsing each of a collection's thousands of statements again costs more
// CPU than running it.
func (s *Store) prepare(ctx context.Context, queries ...string) {
	c := s.read()
	for _, q := range queries {
		c.stmt(ctx, c.rebind(q))
	}
}

// HasBlob reports whether the blob has a row (its bytes are committed).
func (s *Store) HasBlob(ctx context.Context, dgst digest.Digest) (bool, error) {
	ok, err := exists(ctx, s.read(), "SELECT 1 FROM blobs WHERE digest = ?", dgst.String())
	return ok, wrap("has blob", err)
}

// RecordedBlobs returns which of dgsts have a row again (pushed anew since
// their delete committed), in one query: the sweep's last look before
// removing a batch's files.
func (s *Store) RecordedBlobs(ctx context.Context, dgsts []digest.Digest) (map[digest.Digest]bool, error) {
	out := make(map[digest.Digest]bool)
	if len(dgsts) == 0 {
		return out, nil
	}
	err := s.read().queryDynamic(ctx, "SELECT digest FROM blobs WHERE digest IN ("+idList(len(dgsts))+")", digestArgs(dgsts),
		func(r *sql.Rows) error {
			var d digest.Digest
			if err := r.Scan(&d); err != nil {
				return err
			}
			out[d] = true
			return nil
		})
	return out, wrap("recorded blobs", err)
}

// DeleteUntaggedBatch is DeleteUntagged for several manifests of repo in
// one transaction (one commit to wait for, not one each), in the order
// given: a parent before the children only it kept. It returns one
// outcome per manifest, nil when deleted or DeleteUntagged's ErrNotFound,
// ErrStillReferenced or ErrUsedSince when kept; any other error rolls the
// whole batch back.
func (s *Store) DeleteUntaggedBatch(ctx context.Context, repo string, dgsts []digest.Digest, before time.Time) ([]error, error) {
	outcomes := make([]error, len(dgsts))
	s.prepare(ctx, append([]string{manifestRowQuery, untaggedLockQuery + s.d.forUpdate, untaggedKeptQuery},
		deleteManifestRowQueries...)...)
	err := s.inTx(ctx, func(c conn) (err error) {
		restore, err := c.widenCache(ctx)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, restore()) }()
		for i, d := range dgsts {
			err := deleteUntagged(ctx, c, repo, d, before)
			if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrStillReferenced) && !errors.Is(err, ErrUsedSince) {
				return err
			}
			outcomes[i] = err
		}
		return nil
	})
	if err != nil {
		return nil, wrap("delete untagged manifests", err)
	}
	return outcomes, nil
}

// gcCacheKiB is the page cache of a SQLite connection while it runs one of
// the collection's delete transactions, instead of the store's 256 KiB
// (cache_size in sqliteDSN). A batch's deletes touch pages spread over the
// tables and their indexes: with 64 pages of cache, SQLite writes dirty
// pages into the WAL before the commit to make room (and again when the
// batch changes them next), and reads back what it dropped. 4,000 blobs
// among 20,000 took 42 MB of WAL in batches of 1024 with the small cache.
// The cache is the connection's memory while the transaction runs, and is
// given back before it commits (dirty pages stay until written).
const gcCacheKiB = 32 << 10

// widenCache gives a SQLite connection gcCacheKiB of page cache for the
// rest of the transaction c; call restore before the transaction ends.
// Other databases keep their buffers to themselves: a no-op.
func (c conn) widenCache(ctx context.Context) (restore func() error, err error) {
	if c.d.name != sqliteDialect.name {
		return func() error { return nil }, nil
	}
	if _, err := c.exec(ctx, fmt.Sprintf("PRAGMA cache_size = -%d", gcCacheKiB)); err != nil {
		return nil, err
	}
	return func() error {
		_, err := c.exec(ctx, fmt.Sprintf("PRAGMA cache_size = -%d", sqliteCacheKiB))
		return err
	}, nil
}

// exists reports whether query returns a row.
func exists(ctx context.Context, c conn, query string, args ...any) (bool, error) {
	var one int
	err := c.queryRow(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// Lease is who holds a named lease, and until when.
type Lease struct {
	Holder    string
	ExpiresAt time.Time
}

// LeaseHeldError is returned when another holder's lease has not expired.
type LeaseHeldError struct {
	Name  string
	Lease Lease
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("metadata: %s is held by %s until %s", e.Name, e.Lease.Holder,
		e.Lease.ExpiresAt.UTC().Format(time.RFC3339))
}

// ErrLeaseLost means a renewal found the lease expired and taken by another
// holder, or released.
var ErrLeaseLost = errors.New("metadata: lease lost")

// AcquireLease takes lease name for holder until ttl from now, unless
// another holder's lease has not expired: then it returns a
// *LeaseHeldError naming that holder. Acquiring a lease one already holds
// renews it. Expiry is judged by this process's clock: replicas should keep
// theirs in sync (NTP), and ttl well above any skew.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error) {
	if err := checkKey("lease name", name); err != nil {
		return Lease{}, err
	}
	if err := checkKey("lease holder", holder); err != nil {
		return Lease{}, err
	}
	var got Lease
	err := s.inTx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, c.d.insertIgnore("gc_leases", "name, holder, expires_at", "name"), name, "", 0); err != nil {
			return err
		}
		var (
			cur     string
			expires int64
		)
		if err := c.queryRow(ctx, "SELECT holder, expires_at FROM gc_leases WHERE name = ?"+c.d.forUpdate,
			name).Scan(&cur, &expires); err != nil {
			return err
		}
		now := time.Now()
		if cur != "" && cur != holder && expires > unixNano(now) {
			return &LeaseHeldError{Name: name, Lease: Lease{Holder: cur, ExpiresAt: fromUnixNano(expires)}}
		}
		got = Lease{Holder: holder, ExpiresAt: now.Add(ttl).UTC()}
		_, err := c.exec(ctx, "UPDATE gc_leases SET holder = ?, expires_at = ? WHERE name = ?",
			holder, unixNano(got.ExpiresAt), name)
		return err
	})
	if held := (*LeaseHeldError)(nil); errors.As(err, &held) {
		return Lease{}, held
	}
	return got, wrap("acquire lease", err)
}

// RenewLease extends holder's lease name until ttl from now, or returns
// ErrLeaseLost when holder no longer holds it.
func (s *Store) RenewLease(ctx context.Context, name, holder string, ttl time.Duration) error {
	err := affectedOne(s.read().exec(ctx, "UPDATE gc_leases SET expires_at = ? WHERE name = ? AND holder = ?",
		unixNano(time.Now().Add(ttl)), name, holder))
	if errors.Is(err, ErrNotFound) {
		return ErrLeaseLost
	}
	return wrap("renew lease", err)
}

// ReleaseLease gives up holder's lease name; releasing a lease one does not
// hold is not an error.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := s.read().exec(ctx, "UPDATE gc_leases SET holder = '', expires_at = 0 WHERE name = ? AND holder = ?",
		name, holder)
	return wrap("release lease", err)
}

// CurrentLease returns who holds lease name and until when; a zero Lease
// when nobody does.
func (s *Store) CurrentLease(ctx context.Context, name string) (Lease, error) {
	var (
		l       Lease
		expires int64
	)
	err := s.read().queryRow(ctx, "SELECT holder, expires_at FROM gc_leases WHERE name = ?", name).Scan(&l.Holder, &expires)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (l.Holder == "" || expires <= unixNano(time.Now()))) {
		return Lease{}, nil
	}
	if err != nil {
		return Lease{}, wrap("current lease", err)
	}
	l.ExpiresAt = fromUnixNano(expires)
	return l, nil
}
