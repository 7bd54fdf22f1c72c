package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/spf13/cobra"

	"wharf/internal/authstack"
	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/ociapi"
	"wharf/internal/quota"
	"wharf/internal/registry"
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
server's database; wharf replication run RULE runs a rule now (as does
POST /api/v1/replication/RULE/run on the admin API of a running server).`,
		Args: cobra.NoArgs,
	}
	f.register(cmd)
	var asJSON bool
	status := &cobra.Command{
		Use:   "status",
		Short: "Every rule: pushes queued, copies, failures, the last attempt and its error",
		Args:  cobra.NoArgs,
		RunE: f.with(func(cmd *cobra.Command, _ []string, env *accountEnv) error {
			specs, err := authstack.ReplicationSpecs(env.cfg)
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
	var runJSON bool
	run := &cobra.Command{
		Use:   "run RULE",
		Short: "Run a whole rule now: copy every matching tag whose digest differs on the destination",
		Long: `Run the rule RULE of replication.rules once, in this process, on the data
directory and database wharf serve uses (it may keep serving): every tag of
every repository the rule matches whose digest differs on the destination is
copied, with its platforms and referrers. Both ends are asked with HEADs
first, so an up-to-date tag costs no pull. Copies into this registry pass
its quotas and read-only mode, but raise no audit records or notifications
(they are wharf serve's): prefer POST /api/v1/replication/RULE/run on a
running server. Exits 1 when a copy failed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := runReplicationRule(cmd, args[0])
			if err != nil {
				return err
			}
			if runJSON {
				if err := writeJSON(cmd.OutOrStdout(), res); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d copied, %d current, %d failed\n", res.Rule, res.Copied, res.Current, res.Failed)
				for _, e := range res.Errors {
					fmt.Fprintln(cmd.OutOrStdout(), "  "+e)
				}
			}
			if res.Failed > 0 {
				return fmt.Errorf("replication run: %d copies of %s failed (listed above); running it again retries them", res.Failed, res.Rule)
			}
			return nil
		},
	}
	run.Flags().BoolVar(&runJSON, "json", false, "print the result as JSON")
	cmd.AddCommand(status, run)
	return cmd
}

// runReplicationRule runs one rule over the data directory and database
// the configuration names, reaching this registry through an API of its
// own as wharf serve does.
func runReplicationRule(cmd *cobra.Command, rule string) (replicate.RunResult, error) {
	cfg, err := resolveConfig(cmd, config.RoleAllInOne, nil, accountSettings...)
	if err != nil {
		return replicate.RunResult{}, err
	}
	specs, err := authstack.ReplicationSpecs(cfg)
	if err != nil {
		return replicate.RunResult{}, err
	}
	dir := datadir.New(cfg.Data)
	if err := checkExists("replication run", cfg, dir); err != nil {
		return replicate.RunResult{}, err
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	meta, blobs, err := openStores(cmd.Context(), "replication run", cfg, dir, log)
	if err != nil {
		return replicate.RunResult{}, err
	}
	defer meta.Close()
	opts := registry.Options{ReadOnly: cfg.ReadOnly, Replicas: true, MaxUploads: cfg.Limits.UploadsOrDefault()}
	quotaRules, err := authstack.QuotaRules(cfg)
	if err != nil {
		return replicate.RunResult{}, err
	}
	if q := quota.New(meta, log, quotaRules); q != nil {
		opts.Admission = q
	}
	local := ociapi.New(registry.New(blobs, meta, log, opts), log, nil, ociapi.Options{DeleteEnabled: cfg.Storage.Delete})
	runner, err := replicate.NewRunner(replicate.RunnerOptions{Rules: specs, Local: local, Queue: meta, Log: log})
	if err != nil {
		return replicate.RunResult{}, err
	}
	res, err := runner.RunRule(cmd.Context(), rule)
	if errors.Is(err, replicate.ErrNoRule) {
		return res, fmt.Errorf("replication run: no rule is named %q; wharf replication status lists them", rule)
	}
	return res, err
}
