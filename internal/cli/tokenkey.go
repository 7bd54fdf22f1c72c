package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"wharf/internal/authstack"
	"wharf/internal/config"
	"wharf/internal/metadata"
)

func newTokenKey() *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{
		Use:   "token-key",
		Short: "List and rotate the keys that sign registry tokens",
		Long: `The token endpoint signs registry tokens with the newest key of a set kept
in the metadata database, which every replica on the database shares; every
key of the set that has not retired verifies, and /auth/jwks.json publishes
them. Rotating adds a new signing key: every server signs with it within
5 seconds, and the keys it replaces keep verifying until the last token they
signed has expired (token.expiration and a margin), then retire.

With token.key configured (docker_auth style) the key is that file: rotate
it by replacing the key and certificate files and restarting.

  wharf token-key ls
  wharf token-key rotate --config /etc/wharf/wharf.yml`,
	}
	f.register(cmd)
	var asJSON bool
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List the token-signing keys that have not retired, the signing one first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withTokenKeys(cmd, func(cfg config.Config, meta *metadata.Store) error {
				keys, err := authstack.TokenKeys(cmd.Context(), cfg, meta)
				if err != nil {
					return err
				}
				return writeTokenKeys(cmd.OutOrStdout(), keys, asJSON)
			})
		},
	}
	ls.Flags().BoolVar(&asJSON, "json", false, "print the keys as JSON")
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Sign with a new key; the old one verifies until its last tokens have expired",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withTokenKeys(cmd, func(cfg config.Config, meta *metadata.Store) error {
				keys, err := authstack.RotateTokenKey(cmd.Context(), cfg, meta)
				if err != nil {
					return err
				}
				return writeTokenKeys(cmd.OutOrStdout(), keys, false)
			})
		},
	}
	cmd.AddCommand(ls, rotate)
	return cmd
}

// withTokenKeys runs fn with the configuration and the metadata database.
func withTokenKeys(cmd *cobra.Command, fn func(config.Config, *metadata.Store) error) error {
	cfg, err := resolveConfig(cmd, config.RoleAllInOne, nil, accountSettings...)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	meta, err := authstack.OpenMetadata(cmd.Context(), cfg, log)
	if err != nil {
		return err
	}
	defer meta.Close()
	return fn(cfg, meta)
}

// writeTokenKeys prints the keys, a line each, or as JSON.
func writeTokenKeys(out io.Writer, keys []authstack.TokenKeyInfo, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(keys)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tCREATED\tSTATE")
	for _, k := range keys {
		state := "signing"
		if !k.Signing {
			state = "verifying until " + k.RetireAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", k.KID, k.Created.UTC().Format(time.RFC3339), state)
	}
	return tw.Flush()
}
