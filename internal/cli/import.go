package cli

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/importer"
	"wharf/internal/registry"
)

func newImport() *cobra.Command {
	var (
		dryRun, link, copyBlobs bool
		maxRate                 string
	)
	cmd := &cobra.Command{
		Use:   "import DIR",
		Short: "Copy the images of a registry:2 (distribution) storage tree into wharf",
		Long: `Copy every repository, tag, manifest (untagged ones, image indexes with their
children, referrers) and blob of a registry:2 / distribution filesystem
storage tree into the wharf the usual settings name (--data, --config,
--database-driver, --database-dsn, WHARF_*), as if each had been pushed:
same names, same digests.

DIR is the storage root (storage.filesystem.rootdirectory, /var/lib/registry
in the registry:2 image: it holds docker/registry/v2), its v2 directory, or
the directory above the root. Stop the old registry first, or set its
storage.maintenance.readonly. The tree is only read.

Every blob and manifest is verified against its digest while it is read. A
corrupt or unreadable blob, a link file that names no digest, an invalid
repository or tag name, a manifest that does not parse, a symbolic link that
leaves the tree: each is reported with its path and skipped, with the
manifests that need it, and the command exits non-zero after its summary.

Interrupted (Ctrl-C, a kill), the same command finishes the job: blobs and
manifests wharf already holds are counted as already there, not copied
again. A tag wharf has pointing at another manifest (a push since) is left
as it is and listed. On SQLite it takes the data directory's lock, so stop wharf serve
first; with PostgreSQL or MySQL it runs beside serving replicas.

Blobs are copied. With --link they are hard-linked when the tree and the
data directory are on one filesystem (no second copy of the bytes; a linked
blob keeps the source file's owner and mode), and copied otherwise.

  wharf import /var/lib/registry --data /srv/wharf --dry-run
  wharf import /var/lib/registry --data /srv/wharf
  wharf import /var/lib/registry --data /srv/wharf --link
  wharf import /mnt/old --config /etc/wharf/wharf.yml --max-rate 50MB`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rate, err := importer.ParseRate(maxRate)
			if err != nil {
				return err
			}
			src, err := importer.OpenSource(args[0])
			if err != nil {
				return err
			}
			defer src.Close()
			// The settings are checked before the tree is read: a typo in
			// them should not wait for a walk of a large tree.
			var cfg config.Config
			if !dryRun {
				if cfg, err = resolveConfig(cmd, config.RoleAllInOne, nil, accountSettings...); err != nil {
					return err
				}
			}
			stderr, stdout := cmd.ErrOrStderr(), cmd.OutOrStdout()
			fmt.Fprintf(stderr, "import: reading the registry:2 tree %s (%s)\n", src.V2, src.Found)
			plan, err := src.Read(cmd.Context())
			if err != nil {
				return err
			}
			if dryRun {
				importer.WritePlan(stdout, plan)
				if n := len(plan.Problems); n > 0 {
					return fmt.Errorf("import: the tree has %d problems (listed above); they would be skipped", n)
				}
				return nil
			}
			return runImport(cmd, cfg, src, plan, importer.Options{Link: link, MaxRate: rate})
		},
	}
	fl := cmd.Flags()
	fl.String("config", "", "path of the wharf.yml that wharf serve uses (env WHARF_CONFIG)")
	fl.String("data", "", `wharf's data directory to import into (env WHARF_DATA, default "./wharf-data")`)
	addDatabaseFlags(fl)
	fl.BoolVar(&dryRun, "dry-run", false, "list what would be imported, and the problems found, and change nothing")
	fl.BoolVar(&link, "link", false, "hard-link blobs instead of copying them where the filesystem allows")
	fl.BoolVar(&copyBlobs, "copy", false, "copy every blob (the default)")
	fl.StringVar(&maxRate, "max-rate", "", `read at most this many bytes per second from the tree, e.g. "50MB" or "200MiB" (default: no limit)`)
	cmd.MarkFlagsMutuallyExclusive("link", "copy")
	return cmd
}

// runImport opens the wharf cfg names, under the data directory's lock,
// and imports plan into it.
func runImport(cmd *cobra.Command, cfg config.Config, src *importer.Source, plan *importer.Plan, opts importer.Options) error {
	if src.Contains(cfg.Data) {
		return fmt.Errorf("import: the data directory %s is inside the registry:2 tree, which is only read: choose a directory outside it (--data)", cfg.Data)
	}
	dir := datadir.New(cfg.Data)
	if err := dir.Create(); err != nil {
		return err
	}
	// The lock keeps wharf serve on SQLite, and a second import, out while
	// this one writes; replicas on PostgreSQL or MySQL take none and may
	// serve on.
	unlock, err := lockData(dir, "import: stop wharf serve first, or import into another data directory")
	if err != nil {
		return err
	}
	defer unlock()
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	meta, blobs, err := openStores(cmd.Context(), "import", cfg, dir, log)
	if err != nil {
		return err
	}
	defer meta.Close()
	target := importer.Target{Registry: registry.New(blobs, meta, log, registry.Options{}), Blobs: blobs}
	progress := importer.NewProgress(cmd.ErrOrStderr(), terminal(cmd.ErrOrStderr()) != nil, 0)
	sum, err := importer.Import(cmd.Context(), src, plan, target, opts, progress)
	importer.WriteSummary(cmd.OutOrStdout(), sum, src.V2, cfg.Data)
	switch {
	case sum.Interrupted:
		return errors.New("import: interrupted; run the same command again to finish")
	case errors.Is(err, importer.ErrProblems):
		return fmt.Errorf("import: %d problems (listed above); the rest is imported", len(sum.Problems))
	}
	return err
}
