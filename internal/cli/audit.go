package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"wharf/internal/audit"
	"wharf/internal/metadata"
)

func newAudit() *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read the audit log: who pushed, pulled, deleted, logged in, was denied, changed an account",
		Long: `The audit log records, in the server's database, every push, pull, mount
and delete, every login and failed login, every token that granted less
than it was asked, and every change of a user, team, rule, token or
session (by the admin API's caller, or by the operating-system user of the
command). See docs/audit.md.

  wharf audit ls --since 24h
  wharf audit ls --user alice --action push --json
  wharf audit ls --repo team/app --since 2026-12-01 --until 2026-12-02`,
		Args: cobra.NoArgs,
	}
	f.register(cmd)
	cmd.AddCommand(newAuditLs(&f))
	return cmd
}

func newAuditLs(f *accountFlags) *cobra.Command {
	var flt audit.Filter
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List audit records, newest first",
		Long: `List audit records, newest first, a page at a time (--limit, default 100).
When more are left, a line on stderr gives the --cursor that continues.
--json prints one JSON object a line.`,
		Args: cobra.NoArgs,
		RunE: f.with(func(cmd *cobra.Command, _ []string, env *accountEnv) error {
			if flt.Limit < 1 || flt.Limit > audit.MaxLimit {
				return fmt.Errorf("--limit: %d: want 1 to %d", flt.Limit, audit.MaxLimit)
			}
			q, err := flt.Query(time.Now())
			if err != nil {
				var fe *audit.FilterError
				if errors.As(err, &fe) {
					return fmt.Errorf("--%s: %s", fe.Field, fe.Message)
				}
				return err
			}
			recs, next, err := env.store.ListAudit(cmd.Context(), q)
			if errors.Is(err, metadata.ErrBadCursor) {
				return fmt.Errorf("--cursor %q: not a cursor this command printed", flt.Cursor)
			}
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f.json {
				enc := json.NewEncoder(out)
				for _, r := range recs {
					if err := enc.Encode(audit.ViewOf(r)); err != nil {
						return err
					}
				}
			} else {
				tb := newTable(out, "TIME", "ACTION", "ACTOR", "SOURCE", "ADDRESS", "REPOSITORY", "TARGET", "OUTCOME")
				for _, r := range recs {
					action := r.Action
					if r.Count > 1 { // pulls folded into one record
						action += " ×" + strconv.FormatInt(r.Count, 10)
					}
					tb.row(r.Time.Local().Format(time.DateTime), action, orDash(r.Actor), orDash(r.Source), orDash(r.Addr),
						orDash(r.Repository), orDash(shorten(r.Target)), r.Outcome)
				}
				if err := tb.flush(); err != nil {
					return err
				}
			}
			if next != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "more records: add --cursor %s\n", next)
			}
			return nil
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&flt.User, "user", "", "only this actor's records (an account, or the name a failed login gave)")
	fl.StringVar(&flt.Repo, "repo", "", "only records of this repository")
	fl.StringVar(&flt.Action, "action", "", "only this action: push, pull, mount, delete, login, login.failed, token.denied, user.create, …")
	fl.StringVar(&flt.Since, "since", "", "records at or after this time, or this long ago (24h, 7d, 2026-12-01, 2026-12-01T15:04:05Z)")
	fl.StringVar(&flt.Until, "until", "", "records before this time, or this long ago (same forms as --since)")
	fl.StringVar(&flt.Cursor, "cursor", "", "continue where the previous page ended")
	fl.IntVar(&flt.Limit, "limit", metadata.DefaultAuditLimit, fmt.Sprintf("records per page (1 to %d)", audit.MaxLimit))
	fl.BoolVar(&f.json, "json", false, "print one JSON object a line")
	return cmd
}

// shorten cuts a digest in a table to 12 hex digits, as docker shows them.
func shorten(target string) string {
	i := strings.Index(target, "sha256:")
	if i < 0 || len(target) < i+7+12 {
		return target
	}
	return target[:i+7+12]
}
