package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"wharf/internal/accounts"
)

func newTeam() *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{
		Use:   "team",
		Short: "Manage teams: their names reach ACL rules as the groups label",
		Long: `Manage teams of database users. A member's teams are the values of its
groups label, which ACL rules match:

  wharf team add dev
  wharf team member add dev alice bob
  wharf acl add --label groups=dev --name 'dev/*' --actions pull,push

Changes take effect on the next request of a running server.`,
		Args: cobra.NoArgs,
	}
	f.register(cmd)
	member := &cobra.Command{Use: "member", Short: "Add users to a team or remove them", Args: cobra.NoArgs}
	member.AddCommand(
		newTeamMember(&f, "add", "Add users to a team", func(env *accountEnv, cmd *cobra.Command, team, user string) error {
			return env.svc.AddMember(cmd.Context(), team, user)
		}),
		newTeamMember(&f, "rm", "Remove users from a team", func(env *accountEnv, cmd *cobra.Command, team, user string) error {
			return env.svc.RemoveMember(cmd.Context(), team, user)
		}))
	cmd.AddCommand(
		&cobra.Command{
			Use:   "add NAME",
			Short: "Create a team",
			Args:  cobra.ExactArgs(1),
			RunE: f.with(func(cmd *cobra.Command, args []string, env *accountEnv) error {
				if err := env.svc.AddTeam(cmd.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created team %s\n", args[0])
				return nil
			}),
		},
		&cobra.Command{
			Use:   "rm NAME",
			Short: "Delete a team (its members stay)",
			Args:  cobra.ExactArgs(1),
			RunE: f.with(func(cmd *cobra.Command, args []string, env *accountEnv) error {
				if err := env.svc.RemoveTeam(cmd.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted team %s\n", args[0])
				return nil
			}),
		},
		newTeamLs(&f), member)
	return cmd
}

func newTeamMember(f *accountFlags, verb, short string, do func(env *accountEnv, cmd *cobra.Command, team, user string) error) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " TEAM USER...",
		Short: short,
		Args:  cobra.MinimumNArgs(2),
		RunE: f.with(func(cmd *cobra.Command, args []string, env *accountEnv) error {
			for _, user := range args[1:] {
				if err := do(env, cmd, args[0], user); err != nil {
					return err
				}
				if verb == "add" {
					fmt.Fprintf(cmd.OutOrStdout(), "added %s to team %s\n", user, args[0])
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "removed %s from team %s\n", user, args[0])
				}
			}
			return nil
		}),
	}
}

func newTeamLs(f *accountFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the teams and their members",
		Args:  cobra.NoArgs,
		RunE: f.with(func(cmd *cobra.Command, _ []string, env *accountEnv) error {
			teams, err := env.store.ListTeams(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f.json {
				list := make([]accounts.TeamView, 0, len(teams))
				for _, t := range teams {
					list = append(list, accounts.ViewTeam(t))
				}
				return writeJSON(out, list)
			}
			t := newTable(out, "TEAM", "MEMBERS", "CREATED")
			for _, team := range teams {
				t.row(team.Name, orDash(strings.Join(team.Members, ",")), when(team.CreatedAt, "-"))
			}
			return t.flush()
		}),
	}
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON")
	return cmd
}
