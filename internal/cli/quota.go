package cli

import (
	"fmt"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"wharf/internal/authstack"
	"wharf/internal/quota"
)

func newQuota() *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{
		Use:   "quota",
		Short: "Show the quotas of wharf.yml with their current usage",
		Long: `Show the quotas of wharf.yml (quotas:) with the deduplicated usage of the
repositories each matches, read from the server's database. The command
reads its settings as wharf serve does (--config, --data, --database-driver,
--database-dsn and every WHARF_* variable).`,
		Args: cobra.NoArgs,
	}
	f.register(cmd)
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List the quotas with usage, limit and the repositories they match",
		Args:  cobra.NoArgs,
		RunE: f.with(func(cmd *cobra.Command, _ []string, env *accountEnv) error {
			rules, err := authstack.QuotaRules(env.cfg)
			if err != nil {
				return err
			}
			list, err := quota.Statuses(cmd.Context(), env.store, rules)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f.json {
				return writeJSON(out, list)
			}
			if len(list) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no quotas: in the configuration; see docs/repositories.md")
				return nil
			}
			t := newTable(out, "REPOSITORIES", "USAGE", "LIMIT", "USED", "MATCHING")
			for _, s := range list {
				t.row(s.Pattern, humanize.IBytes(uint64(s.Usage)), humanize.IBytes(uint64(s.Limit)),
					fmt.Sprintf("%.0f%%", 100*float64(s.Usage)/float64(s.Limit)), fmt.Sprint(s.Repositories))
			}
			return t.flush()
		}),
	}
	ls.Flags().BoolVar(&f.json, "json", false, "print JSON")
	cmd.AddCommand(ls)
	return cmd
}
