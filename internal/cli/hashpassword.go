package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"wharf/internal/accounts"
)

func newHashPassword() *cobra.Command {
	var (
		fromStdin bool
		cost      int
	)
	cmd := &cobra.Command{
		Use:   "hash-password [USER]",
		Short: "Print a bcrypt hash for the users: section of wharf.yml (replaces htpasswd -nB)",
		Long: `Read a password (from the terminal without echo, or with --password-stdin)
and print its bcrypt hash, for the users: section of wharf.yml or
docker_auth's auth_config.yml. With USER, print an htpasswd line USER:HASH.

  echo "$PW" | wharf hash-password --password-stdin`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readNewPassword(cmd, fromStdin, "Password")
			if err != nil {
				return err
			}
			hash, err := accounts.HashPassword(pw, cost)
			if err != nil {
				return explainError(err)
			}
			if len(args) == 1 {
				if err := accounts.CheckName("user", args[0]); err != nil {
					return explainError(err)
				}
				hash = args[0] + ":" + hash
			}
			fmt.Fprintln(cmd.OutOrStdout(), hash)
			return nil
		},
	}
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from standard input")
	cmd.Flags().IntVar(&cost, "cost", accounts.DefaultCost, "bcrypt cost (4-17); each step doubles the time of a login")
	return cmd
}
