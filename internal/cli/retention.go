package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"wharf/internal/authstack"
	"wharf/internal/config"
	"wharf/internal/progress"
	"wharf/internal/retention"
)

func newRetention() *cobra.Command {
	var dryRun, asJSON bool
	cmd := &cobra.Command{
		Use:   "retention",
		Short: "Remove the tags and untagged manifests the retention policies no longer keep",
		Long: `Apply retention.policies of wharf.yml once: in every repository a policy
matches (the first whose repositories glob matches), untag the tags past
keep_last and keep_within, and delete the untagged manifests older than
untagged_after that no tag, index or kept manifest needs. Tags matching
keep_tags or protected by immutable_tags always stay.

The report lists, per repository, what goes and why, and which rule kept
the rest. --dry-run reports and changes nothing; a run then removes the same,
except what was pushed, pulled or tagged since. Blobs are freed by garbage
collection afterwards.

It runs beside wharf serve (which can also run it every retention.interval):
each removal checks again, in its transaction, that the tag still points
where it did and that the manifest is still untagged and unreferenced.

  wharf retention --dry-run --config /etc/wharf/wharf.yml
  wharf retention --json | jq '.repositories[].untag'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := resolveConfig(cmd, config.RoleAllInOne, nil, accountSettings...)
			if err != nil {
				return err
			}
			if len(cfg.Retention.Policies) == 0 {
				return fmt.Errorf("retention: no policies: add retention.policies to wharf.yml (see docs/policies.md)")
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			meta, err := authstack.OpenMetadata(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			defer meta.Close()
			r := authstack.NewRetention(cfg, meta, log)
			stderr := cmd.ErrOrStderr()
			r.Progress = progress.New(stderr, terminal(stderr) != nil, 0, "retention", "evaluating")
			rep, err := r.Run(cmd.Context(), dryRun)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			return writeRetention(cmd.OutOrStdout(), rep)
		},
	}
	fl := cmd.Flags()
	fl.String("config", "", "path of the wharf.yml that wharf serve uses (env WHARF_CONFIG)")
	fl.String("data", "", `wharf's data directory (env WHARF_DATA, default "./wharf-data")`)
	addDatabaseFlags(fl)
	fl.BoolVar(&dryRun, "dry-run", false, "report what would be removed and change nothing")
	fl.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// writeRetention prints a report for people: a block per repository.
func writeRetention(out io.Writer, rep *retention.Report) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	verb := map[bool][2]string{true: {"would untag", "would delete"}, false: {"untag", "delete"}}[rep.DryRun]
	for _, d := range rep.Repositories {
		if d.Policy == retention.CachePolicy {
			fmt.Fprintf(tw, "%s (pull-through cache: its upstream's max_size and evict_after)\n", d.Repository)
		} else {
			fmt.Fprintf(tw, "%s (retention.policies[%d])\n", d.Repository, d.Policy)
		}
		for _, it := range d.Untag {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", verb[0], it.Tag, it.Digest, it.Reason)
		}
		for _, it := range d.Delete {
			fmt.Fprintf(tw, "  %s\t\t%s\t%s\n", verb[1], it.Digest, it.Reason)
		}
		for _, it := range d.Kept {
			fmt.Fprintf(tw, "  keep\t%s\t%s\t%s\n", it.Tag, it.Digest, it.Reason)
		}
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(tw, "skipped\t%s\n", s)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	what := "removed"
	if rep.DryRun {
		what = "would be removed (dry run: nothing changed)"
	}
	_, err := fmt.Fprintf(out, "retention: %d repositories; %d tags and %d manifests %s; %d skipped; took %s\n",
		len(rep.Repositories), rep.Untagged, rep.Deleted, what, len(rep.Skipped), rep.Duration)
	return err
}
