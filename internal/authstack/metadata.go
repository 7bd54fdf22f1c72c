package authstack

import (
	"context"
	"fmt"
	"log/slog"

	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/metadata"
	"wharf/internal/retention"
)

// MetadataSource returns the driver and DSN of the metadata database cfg
// names: by default SQLite in the data directory.
func MetadataSource(cfg config.Config) (driver, dsn string, err error) {
	driver = cfg.Database.DriverName()
	if dsn, err = cfg.Database.ResolveDSN(); err != nil {
		return "", "", fmt.Errorf("authstack: %w", err)
	}
	if driver == config.DriverSQLite && dsn == "" {
		dsn = datadir.New(cfg.Data).Database()
	}
	return driver, dsn, nil
}

// OpenMetadata creates the data directory and opens the metadata database
// cfg names: the one `wharf serve` uses, whose accounts the stack reads,
// and the one `wharf user|team|acl|token` change while it runs (SQLite in
// WAL mode with a busy timeout lets several processes share the file).
// Errors and log lines show the DSN without its password. The store
// refuses to move or delete the tags immutable_tags: protects.
func OpenMetadata(ctx context.Context, cfg config.Config, log *slog.Logger) (*metadata.Store, error) {
	if err := datadir.New(cfg.Data).Create(); err != nil {
		return nil, err
	}
	driver, dsn, err := MetadataSource(cfg)
	if err != nil {
		return nil, err
	}
	where := driver + " " + config.RedactDSN(dsn)
	meta, err := metadata.Open(ctx, driver, dsn, log)
	if err != nil {
		return nil, fmt.Errorf("authstack: metadata database (%s): %w", where, err)
	}
	meta.SetTagGuard(retention.Guard(ImmutableRules(cfg)))
	log.Info("metadata database open", "database", where)
	return meta, nil
}
