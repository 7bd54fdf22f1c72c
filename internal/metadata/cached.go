package metadata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Origin says where a repository's content comes from.
type Origin int

const (
	// OriginNone: no repository of that name, and the cache never filled it.
	OriginNone Origin = iota
	// OriginLocal: content pushed (or replicated) into this registry.
	OriginLocal
	// OriginCached: content the pull-through cache fetched from an upstream.
	OriginCached
)

// RepositoryOrigin returns where repo's content comes from and, when it
// is cached, the upstream's host.
func (s *Store) RepositoryOrigin(ctx context.Context, repo string) (Origin, string, error) {
	c := s.read()
	var host string
	err := c.queryRow(ctx, "SELECT upstream FROM cached_repositories WHERE name = ?", repo).Scan(&host)
	if err == nil {
		return OriginCached, host, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return OriginNone, "", wrap("repository origin", err)
	}
	if _, err := repoID(ctx, c, repo); errors.Is(err, ErrNotFound) {
		return OriginNone, "", nil
	} else if err != nil {
		return OriginNone, "", wrap("repository origin", err)
	}
	return OriginLocal, "", nil
}

// ClaimCached marks repo as filled from upstream (a host) before the
// cache stores into it, and reports whether it is the cache's: true when
// it was marked already or had no repository yet; when a local repository
// of that name exists, true only if takeLocal (a prefix the upstream owns
// whatever was there), false otherwise (the name is local: the cache
// leaves it alone). The check and the mark are one transaction, so that
// replicas agree on who owns a name.
func (s *Store) ClaimCached(ctx context.Context, repo, upstream string, takeLocal bool) (bool, error) {
	if err := checkKey("repository name", repo); err != nil {
		return false, err
	}
	claimed := false
	err := s.inTx(ctx, func(c conn) error {
		var one int
		err := c.queryRow(ctx, "SELECT 1 FROM cached_repositories WHERE name = ?", repo).Scan(&one)
		if err == nil {
			claimed = true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := repoID(ctx, c, repo); err == nil && !takeLocal {
			return nil
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if _, err := c.exec(ctx, c.d.insertIgnore("cached_repositories", "name, upstream, created_at", "name"),
			repo, upstream, unixNano(time.Now())); err != nil {
			return err
		}
		claimed = true
		return nil
	})
	if err != nil {
		return false, wrap("claim cached repository", err)
	}
	return claimed, nil
}

// CachedRepositories lists the repositories the cache filled (marked by
// ClaimCached), by name.
func (s *Store) CachedRepositories(ctx context.Context) (map[string]string, error) {
	rows, err := s.read().query(ctx, "SELECT name, upstream FROM cached_repositories")
	if err != nil {
		return nil, wrap("cached repositories", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, host string
		if err := rows.Scan(&name, &host); err != nil {
			return nil, wrap("cached repositories", err)
		}
		out[name] = host
	}
	return out, wrap("cached repositories", rows.Err())
}

// CachedRepositoryError refuses a push into a repository the pull-through
// cache filled: its content is the upstream's.
type CachedRepositoryError struct{ Repo, Upstream string }

func (e *CachedRepositoryError) Error() string {
	return fmt.Sprintf("%s is a pull-through cache of %s: its content comes from there; push to a repository the proxy does not serve", e.Repo, e.Upstream)
}

// refuseCached returns a *CachedRepositoryError when repo is the cache's.
// A push checks it in its manifest's transaction: a push that began before
// the cache claimed the name (its request was let through then) cannot
// then tag content into the cached repository.
func refuseCached(ctx context.Context, c conn, repo string) error {
	var host string
	err := c.queryRow(ctx, "SELECT upstream FROM cached_repositories WHERE name = ?", repo).Scan(&host)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return &CachedRepositoryError{Repo: repo, Upstream: host}
}
