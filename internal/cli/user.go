package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"wharf/internal/accounts"
	"wharf/internal/authstack"
)

func newUser() *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage the users and robot accounts in the database",
		Long: `Manage the users and robot accounts kept in the server's database. The
commands read their settings as wharf serve does (--config, --data,
--database-driver, --database-dsn and every WHARF_* variable), so they change
the database the server uses, also while it runs; changes take effect on the
next request, without a restart.

wharf serve's built-in admin is one of these accounts: list, passwd, disable
and enable it like any other. Disabling or removing the last account the ACL
lets administer (admin:api:*) is refused, and the built-in admin is disabled,
never removed.

Passwords are read from the terminal (without echo) or, with
--password-stdin, from standard input; never from the command line.

  echo "$PW" | wharf user add alice --password-stdin --data ./wharf-data
  wharf user add ci --robot        # logs in with tokens: wharf token create`,
		Args: cobra.NoArgs,
	}
	f.register(cmd)
	cmd.AddCommand(newUserAdd(&f), newUserPasswd(&f), newUserRm(&f), newUserLs(&f),
		newUserState(&f, "disable", "Stop a user from logging in and using its tokens", true),
		newUserState(&f, "enable", "Let a disabled user log in again", false))
	return cmd
}

func newUserAdd(f *accountFlags) *cobra.Command {
	var (
		fromStdin, robot bool
		labels           []string
	)
	cmd := &cobra.Command{
		Use:   "add NAME",
		Short: "Create a user (asks for its password) or, with --robot, a robot account",
		Args:  cobra.ExactArgs(1),
		RunE: f.with(func(cmd *cobra.Command, args []string, env *accountEnv) error {
			l, err := accounts.ParseLabels(labels)
			if err != nil {
				return err
			}
			u := accounts.NewUser{Name: args[0], Robot: robot, Labels: l}
			if err := accounts.CheckName("user", u.Name); err != nil {
				return err
			}
			if !robot {
				if u.Password, err = readNewPassword(cmd, fromStdin, "Password for "+u.Name); err != nil {
					return err
				}
			}
			if err := env.svc.AddUser(cmd.Context(), u); err != nil {
				return err
			}
			if robot {
				fmt.Fprintf(cmd.OutOrStdout(), "created robot account %s; give it a token with: wharf token create --user %s --repo 'NAME' --actions pull\n", u.Name, u.Name)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "created user %s\n", u.Name)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from standard input")
	cmd.Flags().BoolVar(&robot, "robot", false, "a robot account: no password, it logs in with access tokens")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "a label KEY=VALUE for ACL rules (repeatable)")
	return cmd
}

func newUserPasswd(f *accountFlags) *cobra.Command {
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "passwd NAME",
		Short: "Change a user's password, the built-in admin's too (its docker login sessions end)",
		Args:  cobra.ExactArgs(1),
		RunE: f.with(func(cmd *cobra.Command, args []string, env *accountEnv) error {
			name := args[0]
			if authstack.ConfiguredUsers(env.cfg)[name] {
				return fmt.Errorf("%s is defined in the configuration's users:; put a new bcrypt hash there (wharf hash-password) and restart", name)
			}
			_, err := env.store.GetUser(cmd.Context(), name)
			// Before wharf serve's first start the built-in admin does not
			// exist yet: this gives it its first password.
			create := accounts.IsNotFound(err) && env.svc.IsBuiltin(name)
			if err != nil && !create {
				return err
			}
			pw, err := readNewPassword(cmd, fromStdin, "New password for "+name)
			if err != nil {
				return err
			}
			if create {
				if err := env.svc.AddBuiltin(cmd.Context(), pw); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created the built-in administrator %s with this password; wharf serve uses it\n", name)
				return nil
			}
			if err := env.svc.SetPassword(cmd.Context(), name, pw); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "changed the password of %s; its docker login sessions ended\n", name)
			return nil
		}),
	}
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from standard input")
	return cmd
}

func newUserRm(f *accountFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rm NAME",
		Short: "Delete a user with its team memberships and tokens",
		Args:  cobra.ExactArgs(1),
		RunE: f.with(func(cmd *cobra.Command, args []string, env *accountEnv) error {
			if err := env.svc.RemoveUser(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted user %s\n", args[0])
			return nil
		}),
	}
}

func newUserState(f *accountFlags, verb, short string, disabled bool) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " NAME",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: f.with(func(cmd *cobra.Command, args []string, env *accountEnv) error {
			if err := env.svc.SetDisabled(cmd.Context(), args[0], disabled); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%sd user %s\n", verb, args[0])
			return nil
		}),
	}
}

func newUserLs(f *accountFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the users",
		Args:  cobra.NoArgs,
		RunE: f.with(func(cmd *cobra.Command, _ []string, env *accountEnv) error {
			users, err := env.store.ListUsers(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f.json {
				list := make([]accounts.UserView, 0, len(users))
				for _, u := range users {
					list = append(list, env.svc.View(u))
				}
				return writeJSON(out, list)
			}
			t := newTable(out, "NAME", "KIND", "STATE", "TEAMS", "LABELS", "CREATED")
			for _, u := range users {
				kind, state := "user", "enabled"
				switch v := env.svc.View(u); {
				case v.Robot:
					kind = "robot"
				case v.Builtin:
					kind = "user (built-in admin)"
				}
				if u.Disabled {
					state = "disabled"
				}
				t.row(u.Name, kind, state, orDash(strings.Join(u.Teams, ",")), orDash(formatLabels(u.Labels)), when(u.CreatedAt, "-"))
			}
			return t.flush()
		}),
	}
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON")
	return cmd
}

// formatLabels renders labels as k=v,v k2=v sorted by key.
func formatLabels(l map[string][]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+strings.Join(l[k], ","))
	}
	return strings.Join(parts, " ")
}
