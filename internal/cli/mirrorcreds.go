package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"wharf/internal/accounts"
	"wharf/internal/auth"
	"wharf/internal/authstack"
	"wharf/internal/upstreamcreds"
)

// upstreamEnv is the configuration, the database and the credential store
// of the wharf mirror commands; their changes are audited as `wharf
// user`'s are.
type upstreamEnv struct {
	*accountEnv
	creds *upstreamcreds.Store
}

func openUpstreams(cmd *cobra.Command) (*upstreamEnv, error) {
	cfg, store, log, alog, err := openAudited(cmd)
	if err != nil {
		return nil, err
	}
	var changed func(context.Context, accounts.Change)
	if alog != nil {
		changed = alog.Changed
	}
	return &upstreamEnv{accountEnv: &accountEnv{cfg: cfg, store: store, log: log, audit: alog},
		creds: authstack.UpstreamCredentials(cfg, store, changed)}, nil
}

// withUpstreams runs fn with the opened environment and closes it after.
func withUpstreams(fn func(cmd *cobra.Command, args []string, env *upstreamEnv) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		env, err := openUpstreams(cmd)
		if err != nil {
			return err
		}
		defer env.close(context.WithoutCancel(cmd.Context()))
		return fn(cmd, args, env)
	}
}

func newMirrorCredentials() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "credentials",
		Short: "Set, list and remove the upstreams' credentials stored in the database",
		Long: `The credential of an upstream stored in the database replaces the one
proxy.upstreams[] gives (username, password_file), and wharf serve reads it
again at each token request: a change takes effect without a restart. The
password is sealed with the key of proxy.credentials_key_file (default: the
data directory's auth/upstream-credentials.key, made on first use); replicas
sharing a database need the same key file. An upstream's name is its
proxy.upstreams[].name: its prefix, or "mirror" for the mirror.

  printf '%s\n' "$HUB_TOKEN" | wharf mirror credentials set hub --username acme --password-stdin
  wharf mirror credentials ls
  wharf mirror credentials rm hub`,
	}
	var (
		username  string
		fromStdin bool
		asJSON    bool
	)
	set := &cobra.Command{
		Use:   "set UPSTREAM --username USER --password-stdin",
		Short: "Store the credential an upstream is pulled with (the password on stdin)",
		Args:  cobra.ExactArgs(1),
		RunE: withUpstreams(func(cmd *cobra.Command, args []string, env *upstreamEnv) error {
			if username == "" {
				return errors.New("--username is required (the account at the upstream)")
			}
			password, err := readUpstreamPassword(cmd, fromStdin)
			if err != nil {
				return err
			}
			info, err := env.creds.Set(cmd.Context(), args[0], username, password)
			if err != nil {
				return upstreamError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "stored the credential of upstream %s (user %s, sealed with key %s of %s); wharf serve uses it from its next token request, without a restart\n",
				info.Upstream, info.Username, info.KeyID, env.creds.KeyPath())
			return nil
		}),
	}
	set.Flags().StringVar(&username, "username", "", "account at the upstream")
	set.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password or token from stdin (one line); without it, it is asked on the terminal")
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List every upstream with where its credential comes from (never a password)",
		Args:  cobra.NoArgs,
		RunE: withUpstreams(func(cmd *cobra.Command, _ []string, env *upstreamEnv) error {
			states, err := authstack.UpstreamCredentialStates(cmd.Context(), env.cfg, env.creds)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), states)
			}
			t := newTable(cmd.OutOrStdout(), "UPSTREAM", "SOURCE", "USERNAME", "UPDATED", "KEY", "NOTE")
			for _, st := range states {
				updated := "-"
				if !st.Updated.IsZero() {
					updated = st.Updated.UTC().Format(time.RFC3339)
				}
				t.row(st.Upstream, credentialSource(st), orDash(st.Username), updated, orDash(st.KeyID), orDash(credentialNote(st)))
			}
			return t.flush()
		}),
	}
	ls.Flags().BoolVar(&asJSON, "json", false, "print the list as JSON")
	rm := &cobra.Command{
		Use:   "rm UPSTREAM",
		Short: "Remove an upstream's stored credential: it is pulled with the configuration's again",
		Args:  cobra.ExactArgs(1),
		RunE: withUpstreams(func(cmd *cobra.Command, args []string, env *upstreamEnv) error {
			if err := env.creds.Remove(cmd.Context(), args[0]); err != nil {
				return upstreamError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed the stored credential of upstream %s; wharf serve uses the configuration's (or none) from its next token request\n", args[0])
			return nil
		}),
	}
	cmd.AddCommand(set, ls, rm)
	return cmd
}

// readUpstreamPassword reads the password: one line of stdin, or asked
// twice on the terminal. Never from the command line.
func readUpstreamPassword(cmd *cobra.Command, fromStdin bool) (auth.Secret, error) {
	if !fromStdin {
		return readNewPassword(cmd, false, "Password at the upstream")
	}
	// One byte more than a store takes, so that a longer one is refused
	// rather than cut.
	return readStdinPassword(cmd.InOrStdin(), upstreamcreds.MaxPassword+2)
}

// upstreamError drops the package prefix of the store's refusals.
func upstreamError(err error) error {
	if errors.Is(err, upstreamcreds.ErrInvalid) || errors.Is(err, upstreamcreds.ErrUnknownUpstream) || errors.Is(err, upstreamcreds.ErrNotFound) {
		return errors.New(strings.TrimPrefix(err.Error(), "upstreamcreds: "))
	}
	return err
}

// credentialSource is the SOURCE column: where the credential comes from.
func credentialSource(st authstack.UpstreamCredentialState) string {
	if st.OverridesConfig {
		return st.Source + " (over config)"
	}
	return st.Source
}

// credentialNote is what an operator should know of a credential: it does
// not open, or nothing uses it.
func credentialNote(st authstack.UpstreamCredentialState) string {
	switch {
	case st.Error != "":
		return st.Error
	case !st.Configured:
		return "no configured upstream has this name: nothing uses it (wharf mirror credentials rm " + st.Upstream + ")"
	}
	return ""
}
