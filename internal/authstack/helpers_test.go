package authstack

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"

	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/metadata"
)

// buildSome runs the constructors of backends that names lists, in the
// table's order, for cfg: the sections one test is about.
func buildSome(ctx context.Context, cfg config.Config, log *slog.Logger, names ...string) (chains, closerStack, error) {
	var table []constructor
	for _, c := range backends {
		if slices.Contains(names, c.name) {
			table = append(table, c)
		}
	}
	b := &builder{cfg: cfg, dir: datadir.New(cfg.Data), opts: Options{Log: log}, log: log, pool: externalPool(cfg.Limits.WithDefaults(), log)}
	if cfg.GitHubAuth == nil && cfg.GitLabAuth == nil && cfg.GoogleAuth == nil && cfg.OIDCAuth == nil {
		return assemble(ctx, b, table)
	}
	// Browser sign-ins keep their records in the metadata database.
	meta, err := metadata.Open(ctx, config.DriverSQLite, filepath.Join(cfg.Data, "test.db"), nil)
	if err != nil {
		return chains{}, nil, err
	}
	b.opts.Meta = meta
	c, closers, err := assemble(ctx, b, table)
	if err != nil {
		meta.Close()
		return c, closers, err
	}
	closers.push(meta)
	return c, closers, nil
}

// openTestMetadata opens a SQLite metadata database of the test's own.
func openTestMetadata(t testing.TB) *metadata.Store {
	t.Helper()
	meta, err := metadata.Open(t.Context(), config.DriverSQLite, filepath.Join(t.TempDir(), "test.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	return meta
}
