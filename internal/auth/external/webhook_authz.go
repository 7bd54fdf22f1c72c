package external

import (
	"context"
	"fmt"
	"slices"

	"wharf/internal/auth"
	"wharf/internal/auth/authz"
)

// WebhookAuthzRequest is what wharf POSTs to webhook_authz, once per requested
// scope:
//
//	{"account": "alice", "labels": {"group": ["dev"]}, "service": "wharf",
//	 "ip": "10.0.0.7", "type": "repository", "name": "team/app",
//	 "actions": ["pull", "push"]}
//
// account is "" for the anonymous client; labels come from the
// authenticator that accepted the account ({} when none); ip is "" when
// unknown.
type WebhookAuthzRequest struct {
	Account string      `json:"account"`
	Labels  auth.Labels `json:"labels"`
	Service string      `json:"service"`
	IP      string      `json:"ip"`
	Type    string      `json:"type"`
	Name    string      `json:"name"`
	Actions []string    `json:"actions"`
}

// WebhookAuthzResponse is the answer webhook_authz must give, with status 200:
//
//	{"result": "allow", "actions": ["pull"]}
//	{"result": "deny"}
//	{"result": "no_match"}
//
// allow grants the listed actions (a non-empty list; "*" means every
// requested action, and actions that were not requested are ignored); deny
// grants nothing; no_match passes the question to the next authorizer
// (none: denied). Other fields are errors.
type WebhookAuthzResponse struct {
	Result  string   `json:"result"`
	Actions []string `json:"actions,omitempty"`
}

// WebhookAuthz asks webhook_authz.
type WebhookAuthz struct{ c *webhookClient }

var _ authz.Authorizer = (*WebhookAuthz)(nil)

// NewWebhookAuthz returns an authorizer for the endpoint in cfg.
func NewWebhookAuthz(cfg WebhookConfig) (*WebhookAuthz, error) {
	c, err := newWebhookClient("webhook_authz", cfg)
	if err != nil {
		return nil, err
	}
	return &WebhookAuthz{c: c}, nil
}

// Name implements authz.Authorizer.
func (a *WebhookAuthz) Name() string { return "webhook_authz" }

// Authorize implements authz.Authorizer.
func (a *WebhookAuthz) Authorize(ctx context.Context, req auth.Request) ([]string, error) {
	in := WebhookAuthzRequest{
		Account: req.Identity.Account,
		Labels:  req.Identity.Labels,
		Service: req.Service,
		Type:    req.Access.Type,
		Name:    req.Access.Name,
		Actions: req.Access.Actions,
	}
	if in.Labels == nil {
		in.Labels = auth.Labels{}
	}
	if in.Actions == nil {
		in.Actions = []string{}
	}
	if req.IP.IsValid() {
		in.IP = req.IP.Unmap().String()
	}
	var out WebhookAuthzResponse
	if err := a.c.post(ctx, in, &out, ""); err != nil {
		return nil, err
	}
	a.c.log.DebugContext(ctx, "webhook_authz answered", "account", in.Account, "scope", req.Access.String(), "result", out.Result, "actions", out.Actions)
	if out.Result != resultAllow && out.Actions != nil {
		return nil, fmt.Errorf("webhook_authz: POST %s: actions with result %q; actions go with allow only", a.c.shown, out.Result)
	}
	switch out.Result {
	case resultAllow:
		if len(out.Actions) == 0 {
			return nil, fmt.Errorf(`webhook_authz: POST %s: allow without actions; list them, or answer {"result": "deny"}`, a.c.shown)
		}
		granted := []string{}
		for _, act := range req.Access.Actions {
			if slices.Contains(out.Actions, act) || slices.Contains(out.Actions, "*") {
				granted = append(granted, act)
			}
		}
		return granted, nil
	case resultDeny:
		return []string{}, nil
	case resultNoMatch:
		return nil, authz.ErrNoMatch
	}
	return nil, fmt.Errorf("webhook_authz: POST %s: result %q is not allow, deny or no_match", a.c.shown, out.Result)
}
