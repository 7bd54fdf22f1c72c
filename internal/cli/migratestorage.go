package cli

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"wharf/internal/progress"
	"wharf/internal/storagecopy"
)

func newMigrateStorage() *cobra.Command {
	var (
		from, to       string
		jobs           int
		dryRun, asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "migrate-storage --from KIND:ARG --to KIND:ARG",
		Short: "Copy every blob from one storage to another, verified and resumable",
		Long: `Copy every blob of one blob storage to another: each is written through an
upload at the destination, hashed as it is written, and committed only if
its bytes are the blob. A blob the destination already holds is read back
and hashed, and skipped only if it is the blob (a damaged copy is
replaced), so an interrupted run is resumed by running the same command
again: nothing is copied twice and nothing half-written ever shows.

Storages are KIND:ARG:
  filesystem:DIR   the storage root of a data directory, <data>/blobs
  s3:BUCKET[/PREFIX][?endpoint=URL&region=REGION&pathstyle=BOOL]
                   an S3 bucket; PREFIX is storage.s3.rootdirectory, endpoint
                   an S3-compatible server (then pathstyle defaults to true).
                   Credentials come from the AWS chain (AWS_ACCESS_KEY_ID and
                   AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance role),
                   never from the spec. Buckets are not created.

Uploads in progress at the source are not copied (their clients push
again). The blobs are only the bytes: move the metadata database with
wharf migrate-db, and point the new server's configuration at both. The
source may keep serving during a first run; stop wharf serve and run again
for what was pushed meanwhile. See docs/deploy-ha.md.

Progress (with the time left) goes to stderr, the summary to stdout (--json
for scripts). Exits 1 when a blob could not be copied (listed), 2 when the
command line is wrong.

  wharf migrate-storage --from filesystem:/srv/wharf/blobs --to filesystem:/mnt/new/blobs
  wharf migrate-storage --from filesystem:/srv/wharf/blobs --to filesystem:/mnt/new/blobs --dry-run
  wharf migrate-storage --from filesystem:/srv/wharf/blobs --to 's3:registry?endpoint=https://s3.example:9000'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMigrateStorage(cmd, from, to, jobs, dryRun, asJSON)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&from, "from", "", "the storage to copy from, KIND:ARG (filesystem:DIR or s3:BUCKET[/PREFIX][?endpoint=URL])")
	fl.StringVar(&to, "to", "", "the storage to copy to, KIND:ARG (filesystem:DIR or s3:BUCKET[/PREFIX][?endpoint=URL])")
	fl.IntVar(&jobs, "jobs", 4, "blobs copied at once")
	fl.BoolVar(&dryRun, "dry-run", false, "say what would be copied (by name and size) and write nothing")
	fl.BoolVar(&asJSON, "json", false, "print the summary as one JSON object")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

func runMigrateStorage(cmd *cobra.Command, from, to string, jobs int, dryRun, asJSON bool) error {
	if jobs < 1 || jobs > 256 {
		return usageErrorf("migrate-storage: --jobs %d: want 1 to 256", jobs)
	}
	if from == to {
		return usageErrorf("migrate-storage: --from and --to name the same storage %q", from)
	}
	ctx := cmd.Context()
	src, err := storagecopy.Open(ctx, from, storagecopy.Source)
	if errors.Is(err, storagecopy.ErrSpec) {
		return usageErrorf("migrate-storage: --from: %w", err)
	}
	if err != nil {
		return fmt.Errorf("migrate-storage: --from: %w", err)
	}
	role := storagecopy.Destination
	if dryRun {
		role = storagecopy.Preview // creates nothing
	}
	dst, err := storagecopy.Open(ctx, to, role)
	if errors.Is(err, storagecopy.ErrSpec) {
		return usageErrorf("migrate-storage: --to: %w", err)
	}
	if err != nil {
		return fmt.Errorf("migrate-storage: --to: %w", err)
	}
	stderr := cmd.ErrOrStderr()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	line := progress.New(stderr, terminal(stderr) != nil, 0, "migrate-storage", "copying")
	rep, err := storagecopy.Copy(ctx, src, dst, storagecopy.Options{Jobs: jobs, DryRun: dryRun, Progress: line, Log: log})
	if rep != nil && asJSON {
		if jerr := writeJSON(cmd.OutOrStdout(), rep); jerr != nil {
			return errors.Join(err, jerr)
		}
	} else if rep != nil {
		storagecopy.WriteText(cmd.OutOrStdout(), rep)
	}
	if errors.Is(err, storagecopy.ErrFailed) {
		return fmt.Errorf("migrate-storage: %d blobs were not copied (listed above); run the same command again to retry them", len(rep.Failed))
	}
	if err != nil && rep != nil {
		return fmt.Errorf("migrate-storage: %w; run the same command again to resume", err)
	}
	if err != nil {
		return fmt.Errorf("migrate-storage: %w", err)
	}
	return nil
}
