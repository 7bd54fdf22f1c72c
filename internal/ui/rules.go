package ui

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"wharf/internal/accounts"
	"wharf/internal/auth"
	"wharf/internal/auth/authz"
	"wharf/internal/errcode"
)

// ruleRow is a database rule as the rules page shows it, with the
// positions its move buttons ask for (0: no such button).
type ruleRow struct {
	ID                 int64
	Position, Up, Down int
	Match, Actions     string
	Comment            string
}

// layerRules are the rules of an ACL asked before the database's.
type layerRules struct {
	Name  string
	Rules []string
}

// checkResult is the checker's answer: what `wharf acl check` prints.
type checkResult struct {
	Account, Who, Labels, Request string
	// Denied is why the account gets nothing whatever the rules.
	Denied string
	// DecidedBy names the rule that decided ("" when none matched),
	// RuleAllows what it allowed, Token what an access token kept.
	DecidedBy, RuleAllows, Token string
	Granted, Refused             string
}

type rulesData struct {
	Session *session
	Rules   []ruleRow
	Layers  []layerRules
	// CheckAccount and CheckScope are the checker's form, Check its
	// answer (nil before it is asked), CheckProblem what is wrong with it.
	CheckAccount, CheckScope, CheckProblem string
	Check                                  *checkResult
}

// rulesPage lists the ACL in the order it is asked: the configuration's
// rules (read-only here), then the database's with buttons to move them
// up and down, remove them, add one; and answers the checker's question
// (GET account= & scope=) as `wharf acl check` does.
func (u *UI) rulesPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	snap, err := u.cfg.Live.Snapshot(ctx)
	if err != nil {
		u.fail(w, r, errcode.PageUnavailable, "The rules cannot be read now; try again later.", err)
		return
	}
	d := rulesData{Session: s}
	for _, l := range u.cfg.Layers {
		lr := layerRules{Name: l.Name}
		for _, rule := range l.ACL.Rules() {
			lr.Rules = append(lr.Rules, authz.DescribeRule(rule))
		}
		d.Layers = append(d.Layers, lr)
	}
	stored := snap.Rules()
	for i, sr := range stored {
		rule := accounts.RuleFromStore(sr)
		row := ruleRow{ID: sr.ID, Position: sr.Position, Match: authz.DescribeMatch(rule.Match), Actions: authz.DescribeActions(rule.Actions), Comment: sr.Comment}
		if i > 0 {
			row.Up = stored[i-1].Position
		}
		if i < len(stored)-1 {
			row.Down = stored[i+1].Position
		}
		d.Rules = append(d.Rules, row)
	}
	q := r.URL.Query()
	if q.Has("scope") {
		d.CheckAccount, d.CheckScope = q.Get("account"), q.Get("scope")
		access, err := auth.ParseScope(d.CheckScope)
		if err != nil || len(d.CheckAccount) > maxCredential {
			d.CheckProblem = "Write the scope as docker asks for it, such as repository:team/app:pull,push."
		} else {
			d.Check, err = u.check(r, snap, d.CheckAccount, access)
			if err != nil {
				u.fail(w, r, errcode.PageUnavailable, "The rules cannot be checked now; try again later.", err)
				return
			}
		}
	}
	u.render(w, r, http.StatusOK, "admin_rules.html", d)
}

// check explains what account gets for access, as the token server would
// decide it now: the explanation of `wharf acl check`.
func (u *UI) check(r *http.Request, snap *accounts.Snapshot, account string, access auth.Access) (*checkResult, error) {
	subject := accounts.Identify(snap, u.cfg.Configured, account, "")
	req := auth.Request{Identity: auth.Identity{Account: account, Labels: subject.Labels}, Service: u.cfg.Service, Access: access}
	ex, err := accounts.Explain(r.Context(), u.cfg.Live, u.cfg.Layers, req)
	if err != nil {
		return nil, err
	}
	c := &checkResult{Account: account, Who: subject.Describe(), Labels: describeLabels(ex.Identity.Labels),
		Request: access.String() + " for service " + strconv.Quote(u.cfg.Service), Denied: ex.Denied, Granted: "nothing"}
	if ex.Layer != "" {
		c.DecidedBy = fmt.Sprintf("%s rule #%d", ex.Layer, ex.Index)
		if ex.Rule.Line > 0 {
			c.DecidedBy += fmt.Sprintf(" (line %d)", ex.Rule.Line)
		}
		if rules := snap.Rules(); ex.Layer == "database" && ex.Index < len(rules) {
			c.DecidedBy = fmt.Sprintf("database rule %d (position %d)", rules[ex.Index].ID, rules[ex.Index].Position)
		}
		c.DecidedBy += ": " + authz.DescribeRule(ex.Rule)
		c.RuleAllows = authz.DescribeActions(ex.RuleAllowed)
	}
	if len(ex.Granted) > 0 {
		c.Granted = strings.Join(ex.Granted, ", ")
	}
	var refused []string
	for _, a := range access.Actions {
		if !slices.Contains(ex.Granted, a) && !slices.Contains(ex.Granted, "*") {
			refused = append(refused, a)
		}
	}
	c.Refused = strings.Join(refused, ", ")
	return c, nil
}

// describeLabels writes labels as k=v pairs in key order.
func describeLabels(l auth.Labels) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		for _, v := range l[k] {
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, " ")
}

// addRule adds a database rule from the form: an empty field matches
// anything; actions are comma-separated ("" denies); position 0 or empty
// is last.
func (u *UI) addRule(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	field := func(k string) *string {
		if v := strings.TrimSpace(f.Get(k)); v != "" {
			return &v
		}
		return nil
	}
	rule := authz.Rule{Match: authz.Match{Account: field("account"), Type: field("type"), Name: field("name"), Service: field("service"), IP: field("ip")},
		Actions: []string{}, Comment: strings.TrimSpace(f.Get("comment"))}
	for _, a := range strings.Split(f.Get("actions"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			rule.Actions = append(rule.Actions, a)
		}
	}
	position := 0
	if p := strings.TrimSpace(f.Get("position")); p != "" {
		var err error
		if position, err = strconv.Atoi(p); err != nil || position < 0 {
			u.fail(w, r, errcode.PageInvalid, "The position is a number from 1 (asked first); leave it empty to add the rule last.", nil)
			return
		}
	}
	if err := authz.CheckActions(rule.Actions); err != nil {
		u.fail(w, r, errcode.PageInvalid, strings.TrimPrefix(err.Error(), "authz: "), nil)
		return
	}
	stored, err := u.cfg.Accounts.AddRule(r.Context(), rule, position)
	if err != nil {
		u.refused(w, r, err)
		return
	}
	u.log.InfoContext(r.Context(), "web interface: acl rule added", "by", s.Account(), "rule", stored.ID, "position", stored.Position)
	done(w, r, "admin/rules", "rule-added")
}

func ruleID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// moveRule moves a rule to the position its button names: the one above
// or below it.
func (u *UI) moveRule(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := ruleID(r)
	position, err := strconv.Atoi(r.PostForm.Get("position"))
	if !ok || err != nil {
		u.fail(w, r, errcode.PageInvalid, "Name a rule and the position to move it to; open the rules page again.", nil)
		return
	}
	at, err := u.cfg.Accounts.MoveRule(r.Context(), id, position)
	if err != nil {
		u.refused(w, r, err)
		return
	}
	u.log.InfoContext(r.Context(), "web interface: acl rule moved", "by", s.Account(), "rule", id, "position", at)
	done(w, r, "admin/rules", "rule-moved")
}

func (u *UI) removeRule(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := ruleID(r)
	if !ok {
		u.fail(w, r, errcode.PageInvalid, "Name a rule by its id; open the rules page again.", nil)
		return
	}
	if err := u.cfg.Accounts.RemoveRule(r.Context(), id); err != nil {
		u.refused(w, r, err)
		return
	}
	u.log.InfoContext(r.Context(), "web interface: acl rule removed", "by", s.Account(), "rule", id)
	done(w, r, "admin/rules", "rule-removed")
}
