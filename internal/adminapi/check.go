package adminapi

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"wharf/internal/accounts"
	"wharf/internal/auth"
	"wharf/internal/auth/authn"
)

// Explanation is the answer of GET /acl/check: what an account gets for a
// scope, and which rule decided, as the token server would decide it now.
type Explanation struct {
	Account string `json:"account"`
	// AccountKind is configured, database_user, database_robot,
	// anonymous or unknown.
	AccountKind string `json:"account_kind"`
	// Shadowed is set when the account is configured and a database user
	// of the same name exists, which is never asked.
	Shadowed bool                `json:"shadowed,omitempty"`
	Labels   map[string][]string `json:"labels"`
	Scope    string              `json:"scope"`
	Service  string              `json:"service"`
	Granted  []string            `json:"granted"`
	Denied   []string            `json:"denied"`
	// DeniedReason, when set, is why the account gets nothing whatever the
	// rules (disabled, removed, a revoked or expired token).
	DeniedReason string `json:"denied_reason,omitempty"`
	// Rule is the rule that decided; null when none matched (no rule, no
	// access).
	Rule  *DecidingRule `json:"rule"`
	Token *TokenScope   `json:"token,omitempty"`
}

// DecidingRule names the rule that decided and what it allowed.
type DecidingRule struct {
	Layer string `json:"layer"`
	Index int    `json:"index"`
	// ID and Position are set for a database rule, Line for a
	// configuration rule read from YAML.
	ID       int64    `json:"id,omitempty"`
	Position int      `json:"position,omitempty"`
	Line     int      `json:"line,omitempty"`
	Match    Match    `json:"match"`
	Actions  []string `json:"actions"`
	Comment  string   `json:"comment"`
	Allowed  []string `json:"allowed"`
}

// TokenScope says which scope of the access token decided what was kept.
type TokenScope struct {
	ID string `json:"id"`
	// Scope is null when no scope of the token matches: nothing is kept.
	Scope *string `json:"scope"`
}

// check answers GET /acl/check?account=&scope=[&service=&ip=&token=&source=&label=K=V…].
func (a *API) check(w http.ResponseWriter, r *http.Request, _ caller) error {
	q := r.URL.Query()
	if !q.Has("account") {
		return invalid("account", "account is required (account= with no value is the anonymous account)")
	}
	account := q.Get("account")
	access, err := auth.ParseScope(q.Get("scope"))
	if err != nil {
		return invalid("scope", "scope %q: want a scope as docker asks for it, such as repository:team/app:pull,push", q.Get("scope"))
	}
	req := auth.Request{Access: access, Service: a.cfg.TokenService}
	if s := q.Get("service"); s != "" {
		req.Service = s
	}
	if s := q.Get("ip"); s != "" {
		if req.IP, err = netip.ParseAddr(s); err != nil {
			return invalid("ip", "ip %q is not an address", s)
		}
	}
	ctx := r.Context()
	snap, err := a.cfg.Live.Snapshot(ctx)
	if err != nil {
		return err
	}
	subject := accounts.Identify(snap, a.cfg.Configured, account, q.Get("token"))
	req.Identity = auth.Identity{Account: account, Labels: subject.Labels}
	if src := q.Get("source"); src != "" {
		req.Identity.Labels = authn.CloneLabels(req.Identity.Labels)
		if req.Identity.Labels == nil {
			req.Identity.Labels = auth.Labels{}
		}
		req.Identity.Labels[auth.LabelSource] = []string{src}
	}
	for _, l := range q["label"] {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return invalid("label", "label %q: want KEY=VALUE", l)
		}
		if req.Identity.Labels == nil {
			req.Identity.Labels = auth.Labels{}
		}
		req.Identity.Labels[k] = append(req.Identity.Labels[k], v)
	}
	ex, err := accounts.Explain(ctx, a.cfg.Live, a.cfg.Layers, req)
	if err != nil {
		return err
	}
	out := Explanation{Account: account, AccountKind: subject.Kind, Shadowed: subject.Shadows, Labels: ex.Identity.Labels,
		Scope: access.String(), Service: req.Service, Granted: nonNil(ex.Granted), Denied: []string{}, DeniedReason: ex.Denied}
	if out.Labels == nil {
		out.Labels = map[string][]string{}
	}
	for _, act := range access.Actions {
		if !slices.Contains(ex.Granted, act) && !slices.Contains(ex.Granted, "*") {
			out.Denied = append(out.Denied, act)
		}
	}
	if ex.Layer != "" {
		m := ex.Rule.Match
		labels, source := m.SplitSource()
		d := &DecidingRule{Layer: ex.Layer, Index: ex.Index, Line: ex.Rule.Line, Actions: nonNil(ex.Rule.Actions), Comment: ex.Rule.Comment,
			Allowed: nonNil(ex.RuleAllowed), Match: Match{Account: m.Account, Type: m.Type, Name: m.Name, Service: m.Service, IP: m.IP, Labels: labels, Source: source}}
		if rules := snap.Rules(); ex.Layer == "database" && ex.Index < len(rules) {
			d.ID, d.Position, d.Comment = rules[ex.Index].ID, rules[ex.Index].Position, rules[ex.Index].Comment
		}
		out.Rule = d
	}
	if ex.Token != nil && ex.Layer != "" {
		ts := &TokenScope{ID: ex.Token.ID}
		if ex.TokenScope >= 0 && ex.TokenScope < len(ex.Token.Scopes) {
			ts.Scope = &ex.Token.Scopes[ex.TokenScope]
		}
		out.Token = ts
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
