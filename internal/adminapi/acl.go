package adminapi

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"wharf/internal/accounts"
	"wharf/internal/auth/authz"
	"wharf/internal/errcode"
	"wharf/internal/metadata"
)

// Rule is a database ACL rule, in docker_auth's shape plus its id and
// position (1 is asked first).
type Rule struct {
	ID        int64     `json:"id"`
	Position  int       `json:"position"`
	Match     Match     `json:"match"`
	Actions   []string  `json:"actions"`
	Comment   string    `json:"comment"`
	CreatedAt time.Time `json:"created_at"`
}

// Match is a rule's condition. An absent member matches anything; a
// present one, even "", must match (account "" is the anonymous account).
type Match struct {
	Account *string           `json:"account,omitempty"`
	Type    *string           `json:"type,omitempty"`
	Name    *string           `json:"name,omitempty"`
	Service *string           `json:"service,omitempty"`
	IP      *string           `json:"ip,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	// Source is the backend the account must come from (static,
	// database, ldap, github, …).
	Source *string `json:"source,omitempty"`
}

func toRule(r metadata.ACLRule) Rule {
	ar := accounts.RuleFromStore(r)
	m := ar.Match
	labels, source := m.SplitSource()
	return Rule{ID: r.ID, Position: r.Position, Actions: nonNil(ar.Actions), Comment: r.Comment, CreatedAt: r.CreatedAt.UTC(),
		Match: Match{Account: m.Account, Type: m.Type, Name: m.Name, Service: m.Service, IP: m.IP, Labels: labels, Source: source}}
}

// Warning is a likely mistake in the rules (authz.Lint) over the whole
// chain: the configuration's rules, then the database's.
type Warning struct {
	// Layer is "database" or the name of the configuration's ACL; RuleID
	// is set for a database rule, Index (0-based) and Line for the others.
	Layer   string `json:"layer"`
	RuleID  int64  `json:"rule_id,omitempty"`
	Index   int    `json:"index"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

type ruleList struct {
	Rules    []Rule    `json:"rules"`
	Warnings []Warning `json:"warnings"`
	Next     string    `json:"next,omitempty"`
}

// rules reads the database's rules and their ETag: a digest of their ids
// in order. Rules are never edited in place, so ids and order are all
// that can change.
func (a *API) rules(r *http.Request) ([]metadata.ACLRule, string, error) {
	rules, err := a.svc.Store().ListACLRules(r.Context())
	if err != nil {
		return nil, "", err
	}
	h := sha256.New()
	for _, rule := range rules {
		fmt.Fprintf(h, "%d,", rule.ID)
	}
	return rules, `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`, nil
}

func (a *API) lint(stored []metadata.ACLRule) []Warning {
	var all []authz.Rule
	var layerOf []int // index into a.cfg.Layers, or -1 for the database
	var firstOf []int
	for li, l := range a.cfg.Layers {
		firstOf = append(firstOf, len(all))
		for range l.ACL.Rules() {
			layerOf = append(layerOf, li)
		}
		all = append(all, l.ACL.Rules()...)
	}
	dbStart := len(all)
	for _, r := range stored {
		all = append(all, accounts.RuleFromStore(r))
		layerOf = append(layerOf, -1)
	}
	out := []Warning{}
	for _, w := range authz.Lint(all) {
		if li := layerOf[w.Rule]; li >= 0 {
			out = append(out, Warning{Layer: a.cfg.Layers[li].Name, Index: w.Rule - firstOf[li], Line: w.Line, Message: w.Message})
			continue
		}
		r := stored[w.Rule-dbStart]
		msg := w.Message
		if strings.HasPrefix(msg, "never reached") {
			msg = "never reached: an earlier rule matches every request"
		}
		out = append(out, Warning{Layer: "database", RuleID: r.ID, Index: w.Rule - dbStart, Message: msg})
	}
	return out
}

func (a *API) listRules(w http.ResponseWriter, r *http.Request, _ caller) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	after := 0
	if p.hasLast {
		if after, err = strconv.Atoi(p.last); err != nil || after < 0 {
			return invalid("last", "last %q: want the position of the last rule of the previous page", p.last)
		}
	}
	rules, etag, err := a.rules(r)
	if err != nil {
		return err
	}
	shown, last := slice(rules, p, func(rule metadata.ACLRule) bool { return rule.Position > after },
		func(rule metadata.ACLRule) string { return strconv.Itoa(rule.Position) })
	out := ruleList{Rules: make([]Rule, 0, len(shown)), Warnings: a.lint(rules)}
	for _, rule := range shown {
		out.Rules = append(out.Rules, toRule(rule))
	}
	out.Next = nextLink(w, r, p, last)
	w.Header().Set("ETag", etag)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) ruleID(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, invalid("id", "rule id %q: want the id of a rule (GET %sacl/rules)", s, Prefix)
	}
	return id, nil
}

func (a *API) getRule(w http.ResponseWriter, r *http.Request, _ caller) error {
	id, err := a.ruleID(r)
	if err != nil {
		return err
	}
	rules, etag, err := a.rules(r)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(rules, func(rule metadata.ACLRule) bool { return rule.ID == id })
	if i < 0 {
		return &errcode.Error{Code: errcode.AdminNotFound, Message: fmt.Sprintf("no such acl rule %d", id)}
	}
	w.Header().Set("ETag", etag)
	writeJSON(w, http.StatusOK, toRule(rules[i]))
	return nil
}

// changeRules runs change with the rules' ETag checked against If-Match
// (when the client sends one) and sets the new ETag on the answer. The
// check and the change are one step for this process's requests; a change
// made meanwhile by another process (the CLI) is caught by the next
// request's check.
func (a *API) changeRules(w http.ResponseWriter, r *http.Request, change func() error) error {
	a.ruleMu.Lock()
	defer a.ruleMu.Unlock()
	if want := r.Header.Get("If-Match"); want != "" {
		_, etag, err := a.rules(r)
		if err != nil {
			return err
		}
		if !etagMatches(want, etag) {
			return &errcode.Error{Code: errcode.AdminPreconditionFailed,
				Message: "the ACL rules changed since you read them (If-Match " + want + ", now " + etag + "); read them again and retry"}
		}
	}
	if err := change(); err != nil {
		return err
	}
	if _, etag, err := a.rules(r); err == nil {
		w.Header().Set("ETag", etag)
	}
	return nil
}

func etagMatches(header, etag string) bool {
	for _, v := range strings.Split(header, ",") {
		v = strings.TrimSpace(v)
		if v == "*" || v == etag {
			return true
		}
	}
	return false
}

// newRuleRequest is the body of POST /acl/rules. Actions is required: []
// is a rule that denies what it matches.
type newRuleRequest struct {
	Match    Match     `json:"match"`
	Actions  *[]string `json:"actions"`
	Comment  string    `json:"comment"`
	Position int       `json:"position"`
}

func (a *API) addRule(w http.ResponseWriter, r *http.Request, c caller) error {
	var req newRuleRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Actions == nil {
		return invalid("actions", `actions is required: the actions the rule allows, such as ["pull", "push"] or ["*"]; [] denies`)
	}
	if req.Position < 0 {
		return invalid("position", "position %d: positions start at 1 (0 or absent: last)", req.Position)
	}
	m := req.Match
	rule := authz.Rule{Match: authz.Match{Account: m.Account, Type: m.Type, Name: m.Name, Service: m.Service, IP: m.IP, Labels: m.Labels},
		Actions: *req.Actions, Comment: req.Comment}
	if m.Source != nil {
		if err := rule.Match.SetSource(*m.Source); err != nil {
			return invalid("source", "%v", err)
		}
	}
	if err := authz.CheckActions(rule.Actions); err != nil {
		return invalid("actions", "%s", strings.ReplaceAll(err.Error(), "authz: ", ""))
	}
	if err := accounts.CheckRule(rule); err != nil {
		return about("match", err)
	}
	var stored metadata.ACLRule
	err := a.changeRules(w, r, func() error {
		var err error
		stored, err = a.svc.AddRule(r.Context(), rule, req.Position)
		return err
	})
	if err != nil {
		return err
	}
	a.audit(r, c, "acl rule added", "rule", stored.ID, "position", stored.Position)
	w.Header().Set("Location", Prefix+"acl/rules/"+strconv.FormatInt(stored.ID, 10))
	writeJSON(w, http.StatusCreated, toRule(stored))
	return nil
}

type moveRuleRequest struct {
	Position *int `json:"position"`
}

// moveRule moves a rule (the only change a stored rule takes).
func (a *API) moveRule(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := a.ruleID(r)
	if err != nil {
		return err
	}
	var req moveRuleRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Position == nil || *req.Position < 1 {
		return invalid("position", "position is required: the place to move the rule to, from 1 (asked first); past the end means last")
	}
	err = a.changeRules(w, r, func() error {
		_, err := a.svc.MoveRule(r.Context(), id, *req.Position)
		return err
	})
	if err != nil {
		return err
	}
	return a.answerRule(w, r, c, id)
}

func (a *API) answerRule(w http.ResponseWriter, r *http.Request, c caller, id int64) error {
	rules, _, err := a.rules(r)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(rules, func(rule metadata.ACLRule) bool { return rule.ID == id })
	if i < 0 {
		return &errcode.Error{Code: errcode.AdminNotFound, Message: fmt.Sprintf("no such acl rule %d", id)}
	}
	a.audit(r, c, "acl rule moved", "rule", id, "position", rules[i].Position)
	writeJSON(w, http.StatusOK, toRule(rules[i]))
	return nil
}

func (a *API) removeRule(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := a.ruleID(r)
	if err != nil {
		return err
	}
	if err := a.changeRules(w, r, func() error { return a.svc.RemoveRule(r.Context(), id) }); err != nil {
		return err
	}
	a.audit(r, c, "acl rule deleted", "rule", id)
	noContent(w)
	return nil
}
