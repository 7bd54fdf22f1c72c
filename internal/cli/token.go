package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"wharf/internal/accounts"
)

func newToken() *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage access tokens for users and robot accounts (CI)",
		Long: `Access tokens are passwords for machines: docker login -u USER with a token
as the password. A token is limited to the repositories and actions of its
scopes (on top of what the ACL grants its user), expires, can be revoked,
and is shown once: only its hash is stored.

  wharf user add ci --robot
  wharf acl add --account ci --name 'team/*' --actions pull,push
  wharf token create --user ci --repo 'team/*' --actions pull --expires 30d
  echo "$TOKEN" | docker login -u ci --password-stdin registry.example.com`,
		Args: cobra.NoArgs,
	}
	f.register(cmd)
	cmd.AddCommand(newTokenCreate(&f), newTokenLs(&f), newTokenRevoke(&f))
	return cmd
}

func newTokenCreate(f *accountFlags) *cobra.Command {
	var (
		user, description, expires string
		repos, actions, scopes     []string
	)
	cmd := &cobra.Command{
		Use:   "create --user NAME (--repo PATTERN --actions LIST | --scope SCOPE)...",
		Short: "Create an access token and print it (once)",
		Long: `Create an access token for a user or robot account and print it. It is
shown this once; only its hash is stored.

Scopes limit the token to part of what its user may do: --repo PATTERN
(repeatable, a glob such as 'team/*' or a /regex/) with --actions
(pull, push, delete or '*'), and/or raw --scope type:pattern:actions such
as registry:catalog:*. The grant is what the ACL gives the user AND what a
scope allows: when the ACL grants the user less than a scope names, a
warning says so, with the wharf acl add that would grant it.`,
		Args: cobra.NoArgs,
		RunE: f.with(func(cmd *cobra.Command, _ []string, env *accountEnv) error {
			if user == "" {
				return errors.New("give --user: the user or robot account the token logs in as")
			}
			all := append([]string{}, scopes...)
			switch {
			case len(repos) > 0 && len(actions) == 0:
				return errors.New("--repo needs --actions, e.g. --actions pull or --actions pull,push")
			case len(repos) == 0 && len(actions) > 0:
				return errors.New("--actions needs --repo PATTERN (e.g. --repo 'team/*'); or give --scope")
			}
			for _, r := range repos {
				all = append(all, "repository:"+r+":"+strings.Join(actions, ","))
			}
			if len(all) == 0 {
				return errors.New("give --repo PATTERN with --actions, or --scope: a token is limited to what its scopes name")
			}
			exp, err := parseExpiry(expires, time.Now())
			if err != nil {
				return err
			}
			secret, t, err := env.svc.CreateToken(cmd.Context(), accounts.NewToken{User: user, Description: description, Scopes: all, ExpiresAt: exp})
			if err != nil {
				return err
			}
			// The token exists now; what the ACL grants it is advice, and a
			// failure to work it out must not hide the token.
			shortfalls, err := env.svc.TokenShortfalls(cmd.Context(), user, all)
			if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: what the ACL grants %s could not be checked: %v\n", user, err)
			}
			out, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
			for _, w := range accounts.Warnings(shortfalls) {
				fmt.Fprintln(stderr, "warning: "+w)
			}
			if f.json {
				j := accounts.CreatedTokenView{TokenView: accounts.ViewToken(t, time.Now()), Warnings: []string{}}
				j.Token, j.Warnings = secret.Reveal(), append(j.Warnings, accounts.Warnings(shortfalls)...)
				return writeJSON(out, j)
			}
			fmt.Fprintln(out, secret.Reveal())
			fmt.Fprintf(stderr, "created token %s for %s (scopes %s; expires %s). It is shown this once: store it now.\n",
				t.ID, t.User, strings.Join(t.Scopes, " "), when(t.ExpiresAt, "never"))
			return nil
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&user, "user", "", "the user or robot account the token logs in as")
	fl.StringArrayVar(&repos, "repo", nil, "repository pattern the token may touch (repeatable)")
	fl.StringSliceVar(&actions, "actions", nil, "actions on the --repo patterns: pull, push, delete or '*'")
	fl.StringArrayVar(&scopes, "scope", nil, "a raw scope type:pattern:actions (repeatable)")
	fl.StringVar(&expires, "expires", "90d", "lifetime (30d, 12h) or date (2027-01-31), or never")
	fl.StringVar(&description, "description", "", "what the token is for, e.g. gitlab ci of team/app")
	fl.BoolVar(&f.json, "json", false, "print JSON (with the token)")
	return cmd
}

// parseExpiry reads --expires: "never", a duration with d for days, or a
// date.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	switch {
	case s == "never":
		return time.Time{}, nil
	case strings.HasSuffix(s, "d"):
		days, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err == nil && days > 0 && days <= 3660 {
			return now.Add(time.Duration(days) * 24 * time.Hour), nil
		}
	default:
		if d, err := time.ParseDuration(s); err == nil && d > 0 {
			return now.Add(d), nil
		}
		if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
			return t, nil
		}
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--expires %q: want a lifetime such as 30d or 12h, a date such as 2027-01-31, or never", s)
}

func newTokenLs(f *accountFlags) *cobra.Command {
	var (
		user string
		all  bool
	)
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List access tokens (not the tokens themselves, which are never stored)",
		Args:  cobra.NoArgs,
		RunE: f.with(func(cmd *cobra.Command, _ []string, env *accountEnv) error {
			tokens, err := env.svc.Tokens(cmd.Context(), user)
			if err != nil {
				return err
			}
			now := time.Now()
			shown := []accounts.TokenView{}
			for _, t := range tokens {
				if v := accounts.ViewToken(t, now); all || v.State == accounts.TokenActive {
					shown = append(shown, v)
				}
			}
			out := cmd.OutOrStdout()
			if f.json {
				return writeJSON(out, shown)
			}
			tb := newTable(out, "ID", "USER", "SCOPES", "EXPIRES", "LAST USED", "STATE", "DESCRIPTION")
			for _, t := range shown {
				state := t.State
				if t.RevokedAt != nil {
					state += " " + when(*t.RevokedAt, "")
				}
				tb.row(t.ID, t.User, strings.Join(t.Scopes, " "), whenPtr(t.ExpiresAt, "never"), whenPtr(t.LastUsed, "never"), state, orDash(t.Description))
			}
			return tb.flush()
		}),
	}
	cmd.Flags().StringVar(&user, "user", "", "only this user's tokens")
	cmd.Flags().BoolVar(&all, "all", false, "include revoked and expired tokens")
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON")
	return cmd
}

func newTokenRevoke(f *accountFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID...",
		Short: "Revoke access tokens, and the docker login sessions opened with them",
		Args:  cobra.MinimumNArgs(1),
		RunE: f.with(func(cmd *cobra.Command, args []string, env *accountEnv) error {
			for _, id := range args {
				t, err := env.svc.RevokeToken(cmd.Context(), id)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "revoked token %s of %s\n", t.ID, t.User)
			}
			return nil
		}),
	}
}
