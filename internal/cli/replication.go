package cli

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"wharf/internal/config"
	"wharf/internal/replicate"
)

func newReplication() *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{
		Use:   "replication",
		Short: "The replication rules of wharf.yml: their queues, copies and errors",
		Long: `Replication rules (replication.rules in wharf.yml, docs/replication.md)
copy repositories to and from other registries, on push and on a schedule,
inside wharf serve. wharf replication status reads their state from the
server's database; POST /api/v1/replication/RULE/run on the admin API runs a
rule now.`,
		Args: cobra.NoArgs,
	}
	f.register(cmd)
	var asJSON bool
	status := &cobra.Command{
		Use:   "status",
		Short: "Every rule: pushes queued, copies, failures, the last attempt and its error",
		Args:  cobra.NoArgs,
		RunE: f.with(func(cmd *cobra.Command, _ []string, env *accountEnv) error {
			specs, err := replicationSpecs(env.cfg)
			if err != nil {
				return err
			}
			if len(specs) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no replication.rules in the configuration; see docs/replication.md")
				return nil
			}
			st, err := replicate.Status(cmd.Context(), env.store, specs)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"rules": st})
			}
			t := newTable(cmd.OutOrStdout(), "RULE", "DIRECTION", "REMOTE", "PENDING", "COPIED", "FAILED", "LAST RUN", "LAST ERROR")
			for _, s := range st {
				last := "never"
				if s.LastEnd != nil {
					last = s.LastEnd.UTC().Format("2006-01-02 15:04:05Z")
				}
				t.row(s.Name, s.Direction, s.Remote, strconv.FormatInt(s.Pending, 10), strconv.FormatInt(s.Copied, 10),
					strconv.FormatInt(s.Failed, 10), last, s.LastError)
			}
			return t.flush()
		}),
	}
	status.Flags().BoolVar(&asJSON, "json", false, "print the rules as JSON")
	cmd.AddCommand(status)
	return cmd
}

// replicationSpecs are the configured rules as status shows them: no
// credentials are read.
func replicationSpecs(cfg config.Config) ([]replicate.Spec, error) {
	var out []replicate.Spec
	for i, r := range cfg.Replication.Rules {
		r = r.WithDefaults()
		u, err := url.Parse(r.URL)
		if err != nil {
			return nil, fmt.Errorf("replication.rules[%d].url: %w", i, err)
		}
		reg, err := name.NewRegistry(u.Host)
		if err != nil {
			return nil, fmt.Errorf("replication.rules[%d].url: %w", i, err)
		}
		out = append(out, replicate.Spec{
			Rule:   replicate.Rule{Name: r.Name, Pull: r.Direction == config.ReplicatePull},
			Remote: replicate.Remote{Registry: reg}, OnPush: *r.OnPush, Schedule: r.Schedule.Std(),
		})
	}
	return out, nil
}
