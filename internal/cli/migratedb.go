package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/metadata"
	"wharf/internal/progress"
)

func newMigrateDB() *cobra.Command {
	var (
		from, to      string
		force, asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "migrate-db --from DATABASE --to DATABASE",
		Short: "Copy the metadata database to another database (SQLite to PostgreSQL or MySQL)",
		Long: `Copy every row of the metadata database — repositories, manifests, tags,
blob links, users, teams, access rules, access tokens, sessions, audit log,
notification queue — into another database, which this wharf migrates to the
same schema first. Tables are copied in the order their foreign keys need, in
batches, inside one transaction of the destination: an error or an
interruption leaves the destination as it was. Row counts are compared before
the commit, and PostgreSQL's id sequences are moved past the copied ids.

A destination that already holds rows is refused (--force deletes them in the
same transaction). A source SQLite file in a data directory is locked: stop
wharf serve first. Blob bytes are not in the database: copy them with
wharf migrate-storage (or keep the data directory's blobs/).

A database is one of:
  sqlite:PATH
  postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=verify-full
  mysql:USER:PASSWORD@tcp(HOST:3306)/DATABASE
To keep a password off the command line, leave --from or --to out and set
WHARF_MIGRATE_FROM or WHARF_MIGRATE_TO.

At the end it prints what to change in wharf.yml. See docs/deploy-ha.md.

  wharf migrate-db --from sqlite:/srv/wharf/wharf.db --to 'postgres://wharf@db/wharf'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMigrateDB(cmd, from, to, force, asJSON)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&from, "from", "", "the database to copy from (env WHARF_MIGRATE_FROM)")
	fl.StringVar(&to, "to", "", "the database to copy to, new and empty (env WHARF_MIGRATE_TO)")
	fl.BoolVar(&force, "force", false, "delete what the destination holds, in the copy's transaction, instead of refusing it")
	fl.BoolVar(&asJSON, "json", false, "print the summary as one JSON object")
	return cmd
}

// dbSpec is a database named on the command line.
type dbSpec struct{ driver, dsn string }

func (s dbSpec) String() string { return s.driver + " " + config.RedactDSN(s.dsn) }

// parseDBSpec reads sqlite:PATH, postgres://… (or postgresql://…) and
// mysql:DSN.
func parseDBSpec(flag, s string) (dbSpec, error) {
	switch {
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		return dbSpec{config.DriverPostgres, s}, nil
	case strings.HasPrefix(s, "sqlite:") && len(s) > len("sqlite:"):
		return dbSpec{config.DriverSQLite, strings.TrimPrefix(s, "sqlite:")}, nil
	case strings.HasPrefix(s, "mysql:") && len(s) > len("mysql:"):
		return dbSpec{config.DriverMySQL, strings.TrimPrefix(s, "mysql:")}, nil
	case s == "":
		return dbSpec{}, fmt.Errorf("migrate-db: %s is missing (or set WHARF_MIGRATE_%s)", flag, strings.ToUpper(strings.TrimPrefix(flag, "--")))
	}
	return dbSpec{}, fmt.Errorf("migrate-db: %s %s: want sqlite:PATH, postgres://… or mysql:USER:PASSWORD@tcp(HOST:3306)/DATABASE", flag, config.RedactDSN(s))
}

func runMigrateDB(cmd *cobra.Command, from, to string, force, asJSON bool) error {
	if from == "" {
		from = os.Getenv("WHARF_MIGRATE_FROM")
	}
	if to == "" {
		to = os.Getenv("WHARF_MIGRATE_TO")
	}
	src, err := parseDBSpec("--from", from)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	dst, err := parseDBSpec("--to", to)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if src == dst {
		return usageErrorf("migrate-db: --from and --to name the same database")
	}
	if src.driver == config.DriverSQLite {
		// Opening a missing file would create an empty registry and
		// copy nothing from it.
		if _, err := os.Stat(src.dsn); err != nil {
			return fmt.Errorf("migrate-db: --from %s: %w", src.dsn, err)
		}
		dir := datadir.New(filepath.Dir(src.dsn))
		if _, err := os.Stat(dir.LockFile()); err == nil {
			unlock, err := lockData(dir, "migrate-db: wharf serve writes to "+src.dsn+": stop it first")
			if err != nil {
				return err
			}
			defer unlock()
		}
	}
	ctx := cmd.Context()
	stderr := cmd.ErrOrStderr()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srcStore, err := metadata.Open(ctx, src.driver, src.dsn, log)
	if err != nil {
		return fmt.Errorf("migrate-db: --from %s: %w", src, err)
	}
	defer srcStore.Close()
	dstStore, err := metadata.Open(ctx, dst.driver, dst.dsn, log)
	if err != nil {
		return fmt.Errorf("migrate-db: --to %s: %w", dst, err)
	}
	defer dstStore.Close()

	line := progress.New(stderr, terminal(stderr) != nil, 0, "migrate-db", "copying")
	var table string
	var rows, total int64
	line.Start(func() string { return fmt.Sprintf("%s: %d/%d rows", table, rows, total) })
	rep, err := metadata.CopyAll(ctx, srcStore, dstStore, metadata.CopyOptions{
		Force: force,
		Progress: func(t string, n, of int64) {
			line.Update(func() { table, rows, total = t, n, of })
		},
	})
	line.Finish()
	if errors.Is(err, metadata.ErrNotEmpty) {
		return fmt.Errorf("migrate-db: --to %s: %w", dst, err)
	}
	if err != nil {
		return fmt.Errorf("migrate-db: %w; the destination was left as it was", err)
	}
	rep.From, rep.To = src.String(), dst.String()
	if asJSON {
		return writeJSON(cmd.OutOrStdout(), rep)
	}
	writeDBCopy(cmd.OutOrStdout(), rep, dst)
	return nil
}

// writeDBCopy writes the summary and what to change in wharf.yml.
func writeDBCopy(w io.Writer, rep *metadata.CopyReport, dst dbSpec) {
	fmt.Fprintf(w, "copied %d rows in %d tables from %s to %s (schema version %d)\n", rep.Rows, len(rep.Tables), rep.From, rep.To, rep.SchemaVersion)
	for _, t := range rep.Tables {
		fmt.Fprintf(w, "  %-22s %d\n", t.Table, t.Rows)
	}
	if rep.Replaced > 0 {
		fmt.Fprintf(w, "replaced %d rows the destination held (--force)\n", rep.Replaced)
	}
	fmt.Fprintf(w, `
Row counts match. Now point wharf at the new database, in wharf.yml:

  database:
    driver: %s
    dsn_file: /run/secrets/wharf-dsn   # a file holding the DSN, or dsn: …

or with WHARF_DATABASE_DRIVER=%s and WHARF_DATABASE_DSN. Blobs stay where they
are unless you move them (wharf migrate-storage). Keep the old database until the
new one has served.
`, dst.driver, dst.driver)
}
