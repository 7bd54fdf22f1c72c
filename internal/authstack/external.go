package authstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/external"
	"wharf/internal/config"
	"wharf/internal/gate"
)

// externalPool bounds the external programs and webhook calls running at
// once (limits.external_calls), for the four external backends together:
// without it, each scope of each token request started a program of its
// own, with nothing to stop a flood of requests from starting thousands.
func externalPool(lim config.Limits, log *slog.Logger) *gate.Gate {
	return gate.New(gate.Options{What: "external program and webhook calls", Key: "limits.external_calls",
		Slots: lim.ExternalCalls, Wait: lim.ExternalCallWait.Std(), Log: log})
}

// pooledAuthenticator and pooledAuthorizer hold a slot of the pool for
// each call. A token request asks its scopes one after another, so it
// holds one slot at a time and cannot take the pool for itself.
type pooledAuthenticator struct {
	authn.Authenticator
	pool *gate.Gate
}

func (p pooledAuthenticator) Authenticate(ctx context.Context, user string, password auth.Secret) (authn.Result, auth.Labels, error) {
	release, err := p.pool.Enter(ctx)
	if err != nil {
		return authn.WrongPassword, nil, err
	}
	defer release()
	return p.Authenticator.Authenticate(ctx, user, password)
}

type pooledAuthorizer struct {
	authz.Authorizer
	pool *gate.Gate
}

func (p pooledAuthorizer) Authorize(ctx context.Context, req auth.Request) ([]string, error) {
	release, err := p.pool.Enter(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return p.Authorizer.Authorize(ctx, req)
}

// docker_auth asks ext_auth after its other backends, and ext_authz after
// the ACL; the webhooks follow each. Every call holds a slot of the pool.

func extAuth(_ context.Context, b *builder) (Backend, io.Closer, error) {
	c := b.cfg.ExtAuth
	if c == nil {
		return Backend{}, nil, nil
	}
	prog, err := program("ext_auth", *c)
	if err != nil {
		return Backend{}, nil, err
	}
	b.log.Info("authenticating with an external program", "backend", "ext_auth", "command", prog.String(), "timeout", prog.Timeout())
	return Backend{Authn: pooledAuthenticator{external.NewExtAuth(prog, b.log), b.pool}}, nil, nil
}

func webhookAuth(_ context.Context, b *builder) (Backend, io.Closer, error) {
	c := b.cfg.WebhookAuth
	if c == nil {
		return Backend{}, nil, nil
	}
	wc, err := webhookConfig("webhook_auth", *c, b.log)
	if err != nil {
		return Backend{}, nil, err
	}
	a, err := external.NewWebhookAuth(wc)
	if err != nil {
		return Backend{}, nil, err
	}
	b.log.Info("authenticating with a webhook", "backend", "webhook_auth", "url", redactedURL(c.URL), "timeout", wc.Timeout)
	return Backend{Authn: pooledAuthenticator{a, b.pool}}, nil, nil
}

func extAuthz(_ context.Context, b *builder) (Backend, io.Closer, error) {
	c := b.cfg.ExtAuthz
	if c == nil {
		return Backend{}, nil, nil
	}
	prog, err := program("ext_authz", config.ExtAuth(*c))
	if err != nil {
		return Backend{}, nil, err
	}
	b.log.Info("authorizing with an external program", "backend", "ext_authz", "command", prog.String(), "timeout", prog.Timeout())
	return Backend{Authz: pooledAuthorizer{external.NewExtAuthz(prog, b.log), b.pool}}, nil, nil
}

func webhookAuthz(_ context.Context, b *builder) (Backend, io.Closer, error) {
	c := b.cfg.WebhookAuthz
	if c == nil {
		return Backend{}, nil, nil
	}
	wc, err := webhookConfig("webhook_authz", *c, b.log)
	if err != nil {
		return Backend{}, nil, err
	}
	a, err := external.NewWebhookAuthz(wc)
	if err != nil {
		return Backend{}, nil, err
	}
	b.log.Info("authorizing with a webhook", "backend", "webhook_authz", "url", redactedURL(c.URL), "timeout", wc.Timeout)
	return Backend{Authz: pooledAuthorizer{a, b.pool}}, nil, nil
}

func program(key string, c config.ExtAuth) (*external.Program, error) {
	prog, err := external.NewProgram(external.ProgramConfig{Command: c.Command, Args: c.Args, Timeout: c.TimeoutOrDefault(), Env: c.Env})
	if err != nil {
		return nil, fmt.Errorf("config: %s.command: %w", key, err)
	}
	return prog, nil
}

func webhookConfig(key string, c config.Webhook, log *slog.Logger) (external.WebhookConfig, error) {
	wc := external.WebhookConfig{URL: c.URL, Timeout: c.TimeoutOrDefault(), MaxResponse: c.MaxResponseOrDefault(), Log: log}
	if c.CACertificate != "" {
		b, err := os.ReadFile(c.CACertificate)
		if err != nil {
			return wc, fmt.Errorf("config: %s.ca_certificate: %w", key, err)
		}
		wc.CACertificates = b
	}
	if c.SecretFile != "" {
		b, err := os.ReadFile(c.SecretFile)
		if err != nil {
			return wc, fmt.Errorf("config: %s.secret_file: %w", key, err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" || strings.ContainsAny(v, "\r\n\x00") {
			return wc, fmt.Errorf("config: %s.secret_file %s: must hold one line, the header's value", key, c.SecretFile)
		}
		wc.SecretHeader, wc.Secret = c.SecretHeader, auth.Secret(v)
	}
	return wc, nil
}

// redactedURL is u without its query, which may carry a token.
func redactedURL(u string) string {
	u, _, _ = strings.Cut(u, "?")
	return u
}
