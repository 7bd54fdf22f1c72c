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
	return assemble(ctx, b, table)
}

// openTestMetadata opens a SQLite metadata database of the test's own.
func openTestMetadata(t *testing.T) *metadata.Store {
	t.Helper()
	meta, err := metadata.Open(t.Context(), config.DriverSQLite, filepath.Join(t.TempDir(), "test.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	return meta
}
