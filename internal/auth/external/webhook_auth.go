package external

import (
	"context"
	"fmt"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
)

// WebhookAuthRequest is what wharf POSTs to webhook_auth:
//
//	{"user": "alice", "password": "…"}
type WebhookAuthRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// WebhookAuthResponse is the answer webhook_auth must give, with status 200:
//
//	{"result": "allow", "labels": {"group": ["dev"]}}
//	{"result": "deny"}
//	{"result": "no_match"}
//
// allow accepts the user, with optional labels; deny refuses the login (a
// wrong password: later backends are not asked); no_match means the user
// is not the endpoint's, and the next backend is asked. Other fields are
// errors.
type WebhookAuthResponse struct {
	Result string      `json:"result"`
	Labels auth.Labels `json:"labels,omitempty"`
}

// WebhookAuth asks webhook_auth.
type WebhookAuth struct{ c *webhookClient }

var _ authn.Authenticator = (*WebhookAuth)(nil)

// NewWebhookAuth returns an authenticator for the endpoint in cfg.
func NewWebhookAuth(cfg WebhookConfig) (*WebhookAuth, error) {
	c, err := newWebhookClient("webhook_auth", cfg)
	if err != nil {
		return nil, err
	}
	if c.insecure() {
		c.log.Warn("webhook_auth sends passwords over plain HTTP to a host other than this one; use https")
	}
	return &WebhookAuth{c: c}, nil
}

// Name implements authn.Authenticator.
func (a *WebhookAuth) Name() string { return "webhook_auth" }

// Authenticate implements authn.Authenticator. The anonymous account ("")
// is not sent: it is no one's to accept.
func (a *WebhookAuth) Authenticate(ctx context.Context, user string, password auth.Secret) (authn.Result, auth.Labels, error) {
	if user == "" {
		return authn.NoMatch, nil, nil
	}
	var out WebhookAuthResponse
	if err := a.c.post(ctx, WebhookAuthRequest{User: user, Password: password.Reveal()}, &out, password.Reveal()); err != nil {
		return authn.WrongPassword, nil, err
	}
	a.c.log.DebugContext(ctx, "webhook_auth answered", "user", user, "result", out.Result)
	if out.Result != resultAllow && out.Labels != nil {
		return authn.WrongPassword, nil, fmt.Errorf("webhook_auth: POST %s: labels with result %q; labels go with allow only", a.c.shown, out.Result)
	}
	switch out.Result {
	case resultAllow:
		for k := range out.Labels {
			if k == "" {
				return authn.WrongPassword, nil, fmt.Errorf("webhook_auth: POST %s: a label without a name", a.c.shown)
			}
		}
		if len(out.Labels) == 0 {
			return authn.Accepted, nil, nil
		}
		return authn.Accepted, authn.CloneLabels(out.Labels), nil
	case resultDeny:
		return authn.WrongPassword, nil, nil
	case resultNoMatch:
		return authn.NoMatch, nil, nil
	}
	return authn.WrongPassword, nil, fmt.Errorf("webhook_auth: POST %s: result %q is not allow, deny or no_match", a.c.shown, out.Result)
}
