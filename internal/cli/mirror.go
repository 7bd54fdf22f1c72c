package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"wharf/internal/authstack"
	"wharf/internal/upstream"
)

// hubRateLimitRepo is the repository Docker documents for reading an
// account's pull limit: a HEAD of its manifest answers the ratelimit
// headers and does not count against the limit.
const hubRateLimitRepo = "ratelimitpreview/test"

func newMirror() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mirror",
		Short: "The pull-through caches of proxy.upstreams",
	}
	var f accountFlags
	f.register(cmd)
	var repo string
	status := &cobra.Command{
		Use:   "status",
		Short: "Ask each upstream whether it answers and takes the credentials, and how much of its pull limit is left",
		Long: `Ask each upstream of proxy.upstreams, with the credentials wharf serve would
use, for its challenge and a token (the path a pull takes), and print whether
it answered and took them. For Docker Hub it also HEADs the manifest of
ratelimitpreview/test, which answers the account's pull limit without
counting against it (--repo asks another repository of every upstream).
CREDENTIALS says where the credential comes from: the database (wharf mirror
credentials set; "over config" when it replaces the configuration's), the
configuration, or none (anonymous).
The command reads its settings as wharf serve does (--config, --data, the
database flags and every WHARF_* variable); it exits 1 when an upstream fails.`,
		Args: cobra.NoArgs,
		RunE: withUpstreams(func(cmd *cobra.Command, _ []string, env *upstreamEnv) error {
			cfg := env.cfg
			if len(cfg.Proxy.Upstreams) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no proxy.upstreams in the configuration; see docs/proxy.md")
				return nil
			}
			states, err := authstack.UpstreamCredentialStates(cmd.Context(), cfg, env.creds)
			if err != nil {
				return err
			}
			t := newTable(cmd.OutOrStdout(), "PREFIX", "UPSTREAM", "CREDENTIALS", "STATUS", "LIMIT", "REMAINING")
			var failed []string
			for i, u := range cfg.Proxy.Upstreams {
				u = u.WithDefaults()
				prefix := u.Prefix
				if prefix == "" {
					prefix = "(mirror)"
				}
				c, err := authstack.UpstreamClient(i, u, env.creds)
				if err != nil {
					return err
				}
				ask := repo
				if ask == "" && authstack.IsDockerHub(u) {
					ask = hubRateLimitRepo
				}
				state, err := probe(cmd.Context(), c, ask)
				if err != nil {
					state = strings.TrimPrefix(err.Error(), "upstream: ")
					failed = append(failed, prefix)
				}
				rl := c.RateLimit()
				t.row(prefix, u.URL, credentialSource(states[i]), state, count(rl.Limit), count(rl.Remaining))
			}
			if err := t.flush(); err != nil {
				return err
			}
			for _, st := range states {
				if note := credentialNote(st); note != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", st.Upstream, note)
				}
			}
			if len(failed) > 0 {
				return fmt.Errorf("mirror status: %s failed; the STATUS column says how", strings.Join(failed, ", "))
			}
			return nil
		}),
	}
	status.Flags().StringVar(&repo, "repo", "", "repository whose latest manifest each upstream is asked for (default: only the handshake; Docker Hub: "+hubRateLimitRepo+")")
	cmd.AddCommand(status, newMirrorCredentials())
	return cmd
}

// probe does the handshake for repo, then HEADs its latest manifest when
// repo is set, and says how it went: an upstream without that tag still
// answered, and one that rate-limits the HEAD is up but out of pulls.
func probe(ctx context.Context, c *upstream.Client, repo string) (string, error) {
	target := repo
	if target == "" {
		target = "wharf/status"
	}
	if err := c.Ping(ctx, target); err != nil {
		return "", err
	}
	if repo == "" {
		return "ok", nil
	}
	_, err := c.HeadManifest(ctx, repo, "latest")
	var se *upstream.StatusError
	switch {
	case err == nil, upstream.NotFound(err):
		return "ok", nil
	case errors.As(err, &se) && se.Status == 429:
		return "rate-limited (429)", nil
	}
	return "", err
}

// count is a rate-limit header's count, "-" when the upstream sent none.
func count(n int) string {
	if n < 0 {
		return "-"
	}
	return strconv.Itoa(n)
}
