package metadata

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one embedded schema change, named NNNN_what.sql.
type migration struct {
	version int64
	name    string
	sql     string
}

// loadMigrations reads the .sql files of dir in version order. Versions must
// be unique; gaps are allowed.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries { // ReadDir sorts by name, and names start with zero-padded versions
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", name)
		}
		if n := len(out); n > 0 && out[n-1].version >= v {
			return nil, fmt.Errorf("migration %s: version %d is not after %s", name, v, out[n-1].name)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no migrations in %s", dir)
	}
	return out, nil
}

// splitStatements splits a migration into statements. Comment lines ("--")
// are dropped and a statement ends with ";" at the end of a line, which
// keeps the splitter trivial and the files portable: not every driver runs
// several statements in one Exec.
func splitStatements(src string) []string {
	var (
		out []string
		cur strings.Builder
	)
	for line := range strings.Lines(src) {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		if strings.HasSuffix(trimmed, ";") {
			if stmt := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"); stmt != "" {
				out = append(out, stmt)
			}
			cur.Reset()
		}
	}
	if rest := strings.TrimSpace(cur.String()); rest != "" {
		out = append(out, rest)
	}
	return out
}

// migrate applies the embedded migrations that the database has not seen,
// each in its own transaction together with its schema_migrations row, so a
// crash leaves every migration either fully applied or not at all (MySQL
// commits each CREATE at once: there an interrupted migration is completed
// on the next start, see dialect.ddlDone).
func (s *Store) migrate(ctx context.Context) error {
	all, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("metadata: migrations: %w", err)
	}
	return s.applyMigrations(ctx, all)
}

func (s *Store) applyMigrations(ctx context.Context, all []migration) error {
	if s.d.lock != nil {
		// Replicas starting together take turns: the first migrates, the
		// others find the work done.
		lc, err := s.db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("metadata: migrations: %w", err)
		}
		defer lc.Close()
		unlock, err := s.d.lock(ctx, lc)
		if err != nil {
			return fmt.Errorf("metadata: migrations: taking the migration lock: %w", err)
		}
		defer unlock()
	}
	create, err := s.d.renderSchema(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    BIGINT NOT NULL PRIMARY KEY,
    name       {{text}} NOT NULL,
    applied_at BIGINT NOT NULL
)`)
	if err != nil {
		return fmt.Errorf("metadata: migrations: %w", err)
	}
	if _, err := s.read().exec(ctx, create); err != nil {
		return fmt.Errorf("metadata: migrations: %w", err)
	}
	// A database migrated by a newer wharf may have a schema this binary
	// would misread; refuse it rather than guess.
	var newest int64
	if err := s.read().queryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&newest); err != nil {
		return fmt.Errorf("metadata: migrations: %w", err)
	}
	if known := all[len(all)-1].version; newest > known {
		return fmt.Errorf("metadata: database schema version %d is newer than this wharf supports (%d)", newest, known)
	}
	for _, m := range all {
		applied := false
		err := s.inTx(ctx, func(c conn) error {
			applied = false
			var n int
			if err := c.queryRow(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil // another process may have applied it while we waited for the lock
			}
			for _, stmt := range splitStatements(m.sql) {
				stmt, err := s.d.renderSchema(stmt) // after splitting: comments may mention tokens
				if err != nil {
					return err
				}
				if s.d.schema != nil {
					stmt = s.d.schema(stmt)
				}
				if _, err := c.exec(ctx, stmt); err != nil {
					if s.d.ddlDone != nil && s.d.ddlDone(err) {
						s.log.WarnContext(ctx, "schema migration step already done by an interrupted run; continuing",
							"version", m.version, "name", m.name, "err", err)
						continue
					}
					return fmt.Errorf("%w\n%s", err, stmt)
				}
			}
			applied = true
			_, err := c.exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.version, m.name, unixNano(time.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("metadata: migration %s: %w", m.name, err)
		}
		if applied {
			s.log.InfoContext(ctx, "applied schema migration", "version", m.version, "name", m.name)
		}
	}
	return nil
}
