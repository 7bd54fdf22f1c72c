package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/gc"
	"wharf/internal/progress"
)

func newGC() *cobra.Command {
	var dryRun, deleteUntagged, asJSON bool
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Delete unreferenced blobs and abandoned uploads, while the registry serves",
		Long: `Delete the blobs no manifest refers to, blob files without a record, and
upload sessions abandoned for longer than gc.uploads_grace: online, beside a
running wharf serve (on SQLite too), and one collection at a time across
replicas of one database. Anything pushed, linked or mounted within
gc.grace (default 24h) is kept.

--delete-untagged first applies retention's untagged_after rule to every
repository with gc.grace as its age: the manifests that no tag names, no
kept index lists, that are not a referrer of a kept manifest, and that
nobody pushed or pulled within gc.grace are deleted, so that their blobs
go in the same run. Tags are never removed (that is retention's job).

Progress goes to stderr, the summary to stdout (--json for scripts). Exits 1
when the collection failed or another one is running (it says which and
until when). See docs/gc.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := resolveConfig(cmd, config.RoleAllInOne, nil, accountSettings...)
			if err != nil {
				return err
			}
			return runGC(cmd, cfg, gc.Options{
				Grace:          cfg.GC.Grace.Std(),
				UploadsGrace:   cfg.GC.UploadsGrace.Std(),
				LeaseTTL:       cfg.GC.LeaseTTL.Std(),
				DeleteUntagged: deleteUntagged,
				DryRun:         dryRun,
				ReadOnly:       cfg.ReadOnly,
			}, asJSON)
		},
	}
	fl := cmd.Flags()
	fl.String("config", "", "path of the wharf.yml that wharf serve uses (env WHARF_CONFIG)")
	fl.String("data", "", `data directory of the server (env WHARF_DATA, default "./wharf-data")`)
	addDatabaseFlags(fl)
	fl.BoolVar(&dryRun, "dry-run", false, "count what would be deleted and delete nothing")
	fl.BoolVar(&deleteUntagged, "delete-untagged", false, "first delete the manifests nothing needs and nobody pushed or pulled within gc.grace (retention's untagged_after rule)")
	fl.BoolVar(&asJSON, "json", false, "print the summary as one JSON object")
	return cmd
}

// runGC collects once in the data directory and database cfg names. It
// takes no data directory lock: a running wharf serve keeps serving, and
// the database lease keeps a second collection out.
func runGC(cmd *cobra.Command, cfg config.Config, opts gc.Options, asJSON bool) error {
	dir := datadir.New(cfg.Data)
	// A mistyped --data must not become a new, empty registry to collect.
	if err := checkExists("gc", cfg, dir); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	meta, blobs, err := openStores(cmd.Context(), "gc", cfg, dir, log)
	if err != nil {
		return err
	}
	defer meta.Close()
	stderr := cmd.ErrOrStderr()
	line := progress.New(stderr, terminal(stderr) != nil, 0, "gc", "collecting")
	var last gc.Result // changed and drawn under the line's lock
	opts.Progress = func(r gc.Result) { line.Update(func() { last = r }) }
	line.Start(func() string {
		return fmt.Sprintf("manifests %d  blobs %d  orphans %d  uploads %d  freed %s",
			last.ManifestsDeleted, last.BlobsDeleted, last.OrphansDeleted, last.UploadsDeleted, progress.Bytes(last.BytesFreed))
	})
	res, err := gc.New(meta, blobs, log, "wharf gc").Run(cmd.Context(), opts)
	line.Finish()
	if errors.Is(err, gc.ErrBusy) {
		return fmt.Errorf("%w; wait for it to finish, or run again later", err)
	}
	if asJSON {
		if jerr := json.NewEncoder(cmd.OutOrStdout()).Encode(res); jerr != nil && err == nil {
			err = jerr
		}
	} else {
		writeGCSummary(cmd, res)
	}
	return err
}

func writeGCSummary(cmd *cobra.Command, r gc.Result) {
	w := cmd.OutOrStdout()
	verb := "deleted"
	if r.DryRun {
		verb = "would delete"
	}
	if r.DeleteUntagged {
		fmt.Fprintf(w, "manifests  %d untagged %s\n", r.ManifestsDeleted, verb)
	}
	fmt.Fprintf(w, "blobs      %d unreferenced %s\n", r.BlobsDeleted, verb)
	fmt.Fprintf(w, "orphans    %d blob files without a record %s\n", r.OrphansDeleted, verb)
	fmt.Fprintf(w, "uploads    %d abandoned %s\n", r.UploadsDeleted, verb)
	freed := "freed"
	if r.DryRun {
		freed = "would free"
	}
	fmt.Fprintf(w, "bytes      %s %s (%d)\n", progress.Bytes(r.BytesFreed), freed, r.BytesFreed)
	fmt.Fprintf(w, "time       %s\n", r.Duration.Round(1e6))
}
