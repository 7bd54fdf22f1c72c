package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/fsck"
	"wharf/internal/progress"
)

func newFsck() *cobra.Command {
	var repair, asJSON bool
	cmd := &cobra.Command{
		Use:   "fsck",
		Short: "Check every blob's bytes and every manifest's references; --repair quarantines what is corrupt",
		Long: `Check the registry the usual settings name (--data, --config,
--database-driver, --database-dsn, WHARF_*): every blob the database records
is read back from storage and hashed (size and digest), every manifest's
payload is hashed and its config, layers and index children must exist in its
repository, and each problem is listed with the repositories and tags it keeps
from being pulled. Blobs in storage that no row records are listed as orphans:
they are no problem (a crash or a push in progress leaves them), garbage
collection's to remove. The command exits non-zero when it finds a problem.

Without --repair nothing is changed, and it runs beside wharf serve. With
--repair a corrupt blob's bytes are moved to <data>/quarantine/ with a note
(never deleted) and its row and links are removed, so that the next push of it
uploads it again; the tags of manifests that cannot be pulled are removed and
listed (push the image again to restore them). On SQLite --repair takes the
data directory's lock: stop wharf serve first.

Blob storage is the filesystem under <data>/blobs.

  wharf fsck --data /srv/wharf
  wharf fsck --config /etc/wharf/wharf.yml --json
  wharf fsck --data /srv/wharf --repair`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := resolveConfig(cmd, config.RoleAllInOne, nil, accountSettings...)
			if err != nil {
				return err
			}
			return runFsck(cmd, cfg, repair, asJSON)
		},
	}
	fl := cmd.Flags()
	fl.String("config", "", "path of the wharf.yml that wharf serve uses (env WHARF_CONFIG)")
	fl.String("data", "", `wharf's data directory (env WHARF_DATA, default "./wharf-data")`)
	addDatabaseFlags(fl)
	fl.BoolVar(&repair, "repair", false, "quarantine corrupt blobs and untag manifests that cannot be pulled")
	fl.BoolVar(&asJSON, "json", false, "write the report as one JSON document on stdout")
	return cmd
}

func runFsck(cmd *cobra.Command, cfg config.Config, repair, asJSON bool) error {
	dir := datadir.New(cfg.Data)
	if err := checkExists("fsck", cfg, dir); err != nil {
		return err
	}
	if repair && cfg.Database.DriverName() == config.DriverSQLite {
		// The lock keeps wharf serve out while rows and bytes move: a
		// push between the two would be told a blob exists that is
		// about to leave.
		unlock, err := lockData(dir, "fsck: --repair changes the registry: stop wharf serve first, or run without --repair to only check")
		if err != nil {
			return err
		}
		defer unlock()
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelError}))
	meta, blobs, err := openStores(cmd.Context(), "fsck", cfg, dir, log)
	if err != nil {
		return err
	}
	defer meta.Close()
	stderr := cmd.ErrOrStderr()
	line := progress.New(stderr, terminal(stderr) != nil, 0, "fsck", "checking")
	rep, err := fsck.Run(cmd.Context(), meta, blobs, log, fsck.Options{Repair: repair, Quarantine: dir.Quarantine(), Progress: line})
	if rep != nil && asJSON {
		if jerr := writeJSON(cmd.OutOrStdout(), rep); jerr != nil {
			return errors.Join(err, jerr)
		}
	} else if rep != nil {
		fsck.WriteText(cmd.OutOrStdout(), rep)
	}
	if errors.Is(err, context.Canceled) {
		return errors.New("fsck: interrupted; the report above covers what was checked until then")
	}
	if errors.Is(err, fsck.ErrProblems) {
		if repair {
			return fmt.Errorf("fsck: %d problems found and repaired as listed above", len(rep.Problems))
		}
		return fmt.Errorf("fsck: %d problems (listed above); wharf fsck --repair quarantines corrupt blobs and untags what cannot be pulled", len(rep.Problems))
	}
	return err
}

// checkExists refuses a data directory (or SQLite database) that is not
// there: opening it would create an empty registry, and a mistyped --data
// would then be reported clean.
func checkExists(name string, cfg config.Config, dir datadir.Dir) error {
	var paths []string
	if cfg.Storage.S3 == nil {
		paths = append(paths, dir.Blobs()) // blobs in S3 leave no blobs/ here
	}
	if cfg.Database.DriverName() == config.DriverSQLite && cfg.Database.DSN == "" {
		paths = append(paths, dir.Database())
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s: %s is not a wharf data directory that has served (%w): check --data, WHARF_DATA or data: in wharf.yml", name, dir.Root(), err)
		}
	}
	return nil
}
