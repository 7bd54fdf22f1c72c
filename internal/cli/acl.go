package cli

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"wharf/internal/accounts"
	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authz"
	"wharf/internal/authstack"
	"wharf/internal/metadata"
)

func newACL() *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{
		Use:   "acl",
		Short: "Manage the ACL rules in the database, and check who may do what",
		Long: `Manage the ACL rules kept in the server's database. They have docker_auth's
semantics: rules are asked in order, the first whose match fits the request
decides (its actions, intersected with the requested ones), and no match
means no access.

The rules of the configuration (acl: in wharf.yml, or the built-in default
that lets admin do everything) are asked first, then these. wharf acl check
shows which rule decides a request, and why.

  wharf acl add --account alice --name 'alice/*' --actions pull,push
  wharf acl add --label groups=dev --name 'dev/*' --actions pull,push
  wharf acl check alice repository:alice/app:push

Changes take effect on the next request of a running server.`,
		Args: cobra.NoArgs,
	}
	f.register(cmd)
	cmd.AddCommand(newACLAdd(&f), newACLRm(&f), newACLLs(&f), newACLMove(&f), newACLCheck(&f))
	return cmd
}

func newACLAdd(f *accountFlags) *cobra.Command {
	var (
		account, typ, name, service, ip, comment, source string
		labels, actions                                  []string
		deny                                             bool
		position                                         int
	)
	cmd := &cobra.Command{
		Use:   "add",
		Short: "Add a rule (last, or at --position)",
		Long: `Add a rule. Each --account, --type, --name, --service, --ip, --label and --source
narrows what the rule matches; one not given matches anything, and
--account '' matches only the anonymous account. Patterns are exact
strings, globs (* does not cross /) or /regular expressions/, with the
placeholders ${account}, ${labels:groups}, … of docker_auth.`,
		Args: cobra.NoArgs,
		RunE: f.with(func(cmd *cobra.Command, _ []string, env *accountEnv) error {
			fl := cmd.Flags()
			var r authz.Rule
			set := func(flag, value string) *string {
				if fl.Changed(flag) {
					return &value
				}
				return nil
			}
			r.Match = authz.Match{Account: set("account", account), Type: set("type", typ), Name: set("name", name),
				Service: set("service", service), IP: set("ip", ip)}
			if fl.Changed("source") {
				if err := r.Match.SetSource(source); err != nil {
					return usageErrorf("--source: %w", err)
				}
			}
			for _, l := range labels {
				k, v, ok := strings.Cut(l, "=")
				if !ok || k == "" {
					return usageErrorf("--label %q: want LABEL=PATTERN, e.g. groups=dev", l)
				}
				if r.Match.Labels == nil {
					r.Match.Labels = map[string]string{}
				}
				if _, dup := r.Match.Labels[k]; dup {
					return usageErrorf("--label %s given twice (or with --source); a rule has one pattern per label", k)
				}
				r.Match.Labels[k] = v
			}
			switch {
			case deny && fl.Changed("actions"):
				return usageErrorf("--deny and --actions contradict each other; give one")
			case deny:
				r.Actions = []string{}
			case !fl.Changed("actions"):
				return usageErrorf("give --actions (e.g. --actions pull,push, or '*' for every action), or --deny for a rule that denies")
			default:
				for _, a := range actions {
					if a = strings.TrimSpace(a); a != "" {
						r.Actions = append(r.Actions, a)
					}
				}
				if len(r.Actions) == 0 {
					return usageErrorf("--actions is empty; use --deny for a rule that denies")
				}
				if err := authz.CheckActions(r.Actions); err != nil {
					return usageErrorf("--actions: %s", strings.ReplaceAll(err.Error(), "authz: ", ""))
				}
			}
			r.Comment = comment
			stored, err := env.svc.AddRule(cmd.Context(), r, position)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "added rule %d at position %d: %s\n", stored.ID, stored.Position, authz.DescribeRule(r))
			return printLint(cmd, env, out)
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&account, "account", "", "account pattern ('' is the anonymous account)")
	fl.StringVar(&typ, "type", "", "resource type pattern (repository, registry)")
	fl.StringVar(&name, "name", "", "repository name pattern, e.g. 'team/*'")
	fl.StringVar(&service, "service", "", "service pattern")
	fl.StringVar(&ip, "ip", "", "client address or CIDR")
	fl.StringArrayVar(&labels, "label", nil, "LABEL=PATTERN the account's label must match, e.g. groups=dev (repeatable)")
	fl.StringVar(&source, "source", "", "the backend the account must come from: static, database, htpasswd, ldap, oidc, github, gitlab, google, …")
	fl.StringSliceVar(&actions, "actions", nil, "allowed actions, comma-separated: pull, push, delete, or '*' (every action)")
	fl.BoolVar(&deny, "deny", false, "a rule that denies what it matches")
	fl.StringVar(&comment, "comment", "", "why the rule exists (shown by ls and check)")
	fl.IntVar(&position, "position", 0, "insert at this position (1 is asked first); default last")
	return cmd
}

func newACLRm(f *accountFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rm ID",
		Short: "Delete a rule by id (see wharf acl ls)",
		Args:  cobra.ExactArgs(1),
		RunE: f.with(func(cmd *cobra.Command, args []string, env *accountEnv) error {
			id, err := ruleID(args[0])
			if err != nil {
				return err
			}
			if err := env.svc.RemoveRule(cmd.Context(), id); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted rule %d\n", id)
			return nil
		}),
	}
}

func newACLMove(f *accountFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "move ID POSITION",
		Short: "Move a rule to a position (1 is asked first)",
		Args:  cobra.ExactArgs(2),
		RunE: f.with(func(cmd *cobra.Command, args []string, env *accountEnv) error {
			id, err := ruleID(args[0])
			if err != nil {
				return err
			}
			pos, err := strconv.Atoi(args[1])
			if err != nil || pos < 1 {
				return usageErrorf("position %q: want a number from 1 (first)", args[1])
			}
			got, err := env.svc.MoveRule(cmd.Context(), id, pos)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "moved rule %d to position %d\n", id, got)
			return printLint(cmd, env, cmd.OutOrStdout())
		}),
	}
}

func ruleID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, usageErrorf("rule id %q: want the number in the ID column of wharf acl ls", s)
	}
	return id, nil
}

// ruleJSON is a stored rule as `wharf acl ls --json` prints it.
type ruleJSON struct {
	ID       int64      `json:"id"`
	Position int        `json:"position"`
	Rule     authz.Rule `json:"rule"`
}

func newACLLs(f *accountFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the rules in the order they are asked",
		Args:  cobra.NoArgs,
		RunE: f.with(func(cmd *cobra.Command, _ []string, env *accountEnv) error {
			rules, err := env.store.ListACLRules(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f.json {
				list := make([]ruleJSON, 0, len(rules))
				for _, r := range rules {
					list = append(list, ruleJSON{ID: r.ID, Position: r.Position, Rule: accounts.RuleFromStore(r)})
				}
				return writeJSON(out, list)
			}
			check, err := authstack.NewAccessCheck(env.cfg, env.store, env.log)
			if err != nil {
				return err
			}
			if layer, rules := check.ConfigRules(); len(rules) > 0 {
				fmt.Fprintf(out, "%d rule(s) of the %s are asked before these.\n", len(rules), layer)
			}
			t := newTable(out, "POS", "ID", "MATCH", "ACTIONS", "COMMENT")
			for _, r := range rules {
				ar := accounts.RuleFromStore(r)
				t.row(strconv.Itoa(r.Position), strconv.FormatInt(r.ID, 10), authz.DescribeMatch(ar.Match), authz.DescribeActions(ar.Actions), orDash(r.Comment))
			}
			if err := t.flush(); err != nil {
				return err
			}
			return printLint(cmd, env, out)
		}),
	}
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON")
	return cmd
}

// printLint prints the warnings of authz.Lint over the whole chain (the
// configuration's rules, then the database's), naming each rule where it
// lives.
func printLint(cmd *cobra.Command, env *accountEnv, out io.Writer) error {
	check, err := authstack.NewAccessCheck(env.cfg, env.store, env.log)
	if err != nil {
		return err
	}
	stored, err := env.store.ListACLRules(cmd.Context())
	if err != nil {
		return err
	}
	layer, configRules := check.ConfigRules()
	all := slices.Clone(configRules)
	for _, r := range stored {
		all = append(all, accounts.RuleFromStore(r))
	}
	for _, w := range authz.Lint(all) {
		where := fmt.Sprintf("%s rule #%d", layer, w.Rule)
		if w.Line > 0 {
			where += fmt.Sprintf(" (line %d)", w.Line)
		}
		if w.Rule >= len(configRules) {
			r := stored[w.Rule-len(configRules)]
			where = fmt.Sprintf("database rule %d (position %d)", r.ID, r.Position)
		}
		msg := w.Message
		if strings.HasPrefix(msg, "never reached") && w.Rule >= len(configRules) {
			msg = "never reached: an earlier rule matches every request"
		}
		fmt.Fprintf(out, "warning: %s: %s\n", where, msg)
	}
	return nil
}

func newACLCheck(f *accountFlags) *cobra.Command {
	var (
		labels                  []string
		ip, service, tk, source string
	)
	cmd := &cobra.Command{
		Use:   "check ACCOUNT SCOPE",
		Short: "Show what ACCOUNT gets for SCOPE, and which rule decided",
		Long: `Decide a request as the running server would: the configuration's rules,
then the database's, with the account's current labels and teams, and an
access token's scopes with --token. SCOPE is a scope as docker asks for it,
e.g. repository:team/app:pull,push. ACCOUNT '' is the anonymous account.

Exit status: 0 when every action asked for is granted, 1 when any is denied,
2 for a wrong command line or any other error (as grep's), so that a script
can test access without reading the explanation.`,
		Example: `  wharf acl check alice repository:alice/app:push
  wharf acl check '' repository:public/app:pull
  wharf acl check ci repository:team/app:pull,push --token 3k2jd8s9a7f1`,
		Args: cobra.ExactArgs(2),
		RunE: checkStatus(f.with(func(cmd *cobra.Command, args []string, env *accountEnv) error {
			access, err := auth.ParseScope(args[1])
			if err != nil {
				return usageErrorf("scope %q: want type:name:actions, e.g. repository:team/app:pull,push", args[1])
			}
			req := auth.Request{Access: access, Service: env.cfg.Token.Service}
			if service != "" {
				req.Service = service
			}
			if ip != "" {
				if req.IP, err = netip.ParseAddr(ip); err != nil {
					return usageErrorf("--ip %q is not an address", ip)
				}
			}
			check, err := authstack.NewAccessCheck(env.cfg, env.store, env.log)
			if err != nil {
				return err
			}
			snap, err := check.Live.Snapshot(cmd.Context())
			if err != nil {
				return err
			}
			account := args[0]
			subject := check.Identify(snap, account, tk)
			req.Identity = auth.Identity{Account: account, Labels: subject.Labels}
			who := subject.Describe()
			if source != "" {
				req.Identity.Labels = authn.CloneLabels(req.Identity.Labels)
				if req.Identity.Labels == nil {
					req.Identity.Labels = auth.Labels{}
				}
				req.Identity.Labels[auth.LabelSource] = []string{source}
			}
			for _, l := range labels {
				k, v, ok := strings.Cut(l, "=")
				if !ok || k == "" {
					return usageErrorf("--label %q: want KEY=VALUE", l)
				}
				if req.Identity.Labels == nil {
					req.Identity.Labels = auth.Labels{}
				}
				req.Identity.Labels[k] = append(req.Identity.Labels[k], v)
			}
			ex, err := check.Explain(cmd.Context(), req)
			if err != nil {
				return err
			}
			if !printExplanation(cmd.OutOrStdout(), req, who, ex, snap.Rules()) {
				return errDenied
			}
			return nil
		})),
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&labels, "label", nil, "add a label KEY=VALUE to the account (as another backend would)")
	fl.StringVar(&source, "source", "", "the backend the account comes from (static, database, ldap, github, …), for rules with source:")
	fl.StringVar(&ip, "ip", "", "the client's address, for rules with ip")
	fl.StringVar(&service, "service", "", "the service asked for (default: the server's)")
	fl.StringVar(&tk, "token", "", "the id of an access token the account logs in with")
	return cmd
}

// errDenied is wharf acl check's answer when an action is denied: exit
// status 1, and nothing more to print than the explanation.
var errDenied = &exitError{code: exitFailure}

// checkStatus gives wharf acl check's errors status 2, so that 1 means
// denied and nothing else.
func checkStatus(run func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := run(cmd, args)
		if err == nil || errors.Is(err, errDenied) {
			return err
		}
		if ee, ok := errors.AsType[*exitError](err); ok && ee.code == exitUsage {
			return err
		}
		return &exitError{code: exitUsage, err: err}
	}
}

// printExplanation prints how req was decided and reports whether every
// action asked for was granted.
func printExplanation(out io.Writer, req auth.Request, who string, ex authstack.Explanation, stored []metadata.ACLRule) bool {
	account := req.Identity.Account
	if account == "" {
		account = `""`
	}
	t := newTable(out)
	t.row("account:", account+": "+who)
	if l := formatLabels(ex.Identity.Labels); l != "" {
		t.row("labels:", l)
	}
	t.row("request:", req.Access.String()+" for service "+strconv.Quote(req.Service))
	switch {
	case ex.Denied != "":
		t.row("decision:", "denied: "+ex.Denied)
	case ex.Layer == "":
		t.row("decision:", "no rule matches: denied (no rule, no access)")
	default:
		where := fmt.Sprintf("%s rule #%d", ex.Layer, ex.Index)
		if ex.Rule.Line > 0 {
			where += fmt.Sprintf(" (line %d)", ex.Rule.Line)
		}
		if ex.Layer == "database" && ex.Index < len(stored) {
			where = fmt.Sprintf("database rule %d (position %d)", stored[ex.Index].ID, stored[ex.Index].Position)
		}
		t.row("decided by:", where+": "+authz.DescribeRule(ex.Rule))
		t.row("rule allows:", authz.DescribeActions(ex.RuleAllowed))
		if ex.Token != nil {
			scope := "no scope of the token matches: nothing kept"
			if ex.TokenScope >= 0 {
				scope = "scope " + ex.Token.Scopes[ex.TokenScope] + " keeps " + authz.DescribeActions(ex.Granted)
			}
			t.row("token:", ex.Token.ID+": "+scope)
		}
	}
	granted := "nothing"
	if len(ex.Granted) > 0 {
		granted = strings.Join(ex.Granted, ", ")
	}
	var denied []string
	for _, a := range req.Access.Actions {
		if !slices.Contains(ex.Granted, a) {
			denied = append(denied, a)
		}
	}
	t.row("granted:", granted)
	if len(denied) > 0 {
		t.row("denied:", strings.Join(denied, ", "))
	}
	_ = t.flush()
	return len(denied) == 0
}
