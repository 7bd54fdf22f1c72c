package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"wharf/internal/accounts"
)

func newSession() *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{
		Use:   "session",
		Short: "List and end docker login sessions",
		Long: `A session is what docker login keeps (its identity token): a refresh token
that docker trades for access tokens from then on, for any account, from
any backend. Wharf asks the account's backend again at every refresh, so a
session ends by itself when its account is removed or disabled or its
password changes; these commands end one at once.

  wharf session ls --user alice
  wharf session revoke 3f9a0c2d41b7e650
  wharf session revoke --user alice
  wharf session revoke --all`,
		Args: cobra.NoArgs,
	}
	f.register(cmd)
	cmd.AddCommand(newSessionLs(&f), newSessionRevoke(&f))
	return cmd
}

func newSessionLs(f *accountFlags) *cobra.Command {
	var user string
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List live sessions (newest first)",
		Args:  cobra.NoArgs,
		RunE: f.with(func(cmd *cobra.Command, _ []string, env *accountEnv) error {
			list, err := env.svc.Sessions(cmd.Context(), user)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f.json {
				js := make([]accounts.SessionView, 0, len(list))
				for _, rt := range list {
					js = append(js, accounts.ViewSession(rt))
				}
				return writeJSON(out, js)
			}
			tb := newTable(out, "ID", "USER", "SOURCE", "CLIENT", "CREATED", "LAST USED", "EXPIRES")
			for _, rt := range list {
				tb.row(rt.ID, rt.Account, orDash(rt.Source), orDash(rt.ClientID), when(rt.CreatedAt, "-"), when(rt.LastUsed, "never"), when(rt.ExpiresAt, "never"))
			}
			return tb.flush()
		}),
	}
	cmd.Flags().StringVar(&user, "user", "", "only this user's sessions")
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON")
	return cmd
}

func newSessionRevoke(f *accountFlags) *cobra.Command {
	var (
		user string
		all  bool
	)
	cmd := &cobra.Command{
		Use:   "revoke (ID | --user NAME | --all)",
		Short: "End a session, a user's sessions, or everyone's",
		Args:  cobra.MaximumNArgs(1),
		RunE: f.with(func(cmd *cobra.Command, args []string, env *accountEnv) error {
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			given := 0
			for _, set := range []bool{len(args) == 1, user != "", all} {
				if set {
					given++
				}
			}
			if given != 1 {
				return errors.New("give exactly one of: a session ID (from wharf session ls), --user NAME, --all")
			}
			switch {
			case len(args) == 1:
				rt, err := env.svc.RevokeSession(ctx, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "ended session %s of %s\n", rt.ID, rt.Account)
			case user != "":
				n, err := env.svc.RevokeSessions(ctx, user)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "ended %d session(s) of %s\n", n, user)
			default:
				n, err := env.svc.RevokeAllSessions(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "ended %d session(s); everyone logs in again\n", n)
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&user, "user", "", "end every session of this user (any backend)")
	cmd.Flags().BoolVar(&all, "all", false, "end every session of every user")
	return cmd
}
