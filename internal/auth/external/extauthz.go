package external

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"wharf/internal/auth"
	"wharf/internal/auth/authz"
)

// Exit codes of the ext_authz protocol.
const (
	extAuthzAllowed = 0
	extAuthzDenied  = 1
)

// ExtAuthz runs an ext_authz program per requested scope.
type ExtAuthz struct {
	prog *Program
	log  *slog.Logger
}

var _ authz.Authorizer = (*ExtAuthz)(nil)

// NewExtAuthz returns an authorizer running prog; log (nil discards) hears
// about each decision at debug level.
func NewExtAuthz(prog *Program, log *slog.Logger) *ExtAuthz {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ExtAuthz{prog: prog, log: log.With("component", "authz", "backend", "ext_authz", "command", prog.Path())}
}

// Name implements authz.Authorizer.
func (a *ExtAuthz) Name() string { return "ext_authz" }

// extAuthzRequest is docker_auth's AuthRequestInfo as encoding/json writes it (the
// Go field names, no tags): what existing ext_authz programs parse.
type extAuthzRequest struct {
	Account string
	Type    string
	Name    string
	Service string
	IP      string
	Actions []string
	Labels  auth.Labels
}

// ExtAuthzInput is the JSON document an ext_authz program reads for req.
func ExtAuthzInput(req auth.Request) ([]byte, error) {
	ip := ""
	if req.IP.IsValid() {
		ip = req.IP.Unmap().String()
	}
	actions := req.Access.Actions
	if actions == nil {
		actions = []string{}
	}
	return json.Marshal(extAuthzRequest{
		Account: req.Identity.Account,
		Type:    req.Access.Type,
		Name:    req.Access.Name,
		Service: req.Service,
		IP:      ip,
		Actions: actions,
		Labels:  req.Identity.Labels,
	})
}

// Authorize implements authz.Authorizer.
func (a *ExtAuthz) Authorize(ctx context.Context, req auth.Request) ([]string, error) {
	in, err := ExtAuthzInput(req)
	if err != nil {
		return nil, fmt.Errorf("ext_authz: %w", err)
	}
	res, err := a.prog.Run(ctx, in)
	if err != nil {
		return nil, a.fail(err, res)
	}
	a.log.DebugContext(ctx, "ext_authz answered", "account", req.Identity.Account, "scope", req.Access.String(), "exit_code", res.ExitCode)
	switch res.ExitCode {
	case extAuthzAllowed:
		return append([]string{}, req.Access.Actions...), nil
	case extAuthzDenied:
		return []string{}, nil
	}
	return nil, a.fail(fmt.Errorf("exit code %d is not 0 (allow) or 1 (deny)", res.ExitCode), res)
}

func (a *ExtAuthz) fail(err error, res Result) error {
	msg := fmt.Sprintf("ext_authz: %s: %v", a.prog.Path(), err)
	if s := excerpt(res.Stderr, stderrExcerpt); s != "" {
		msg += fmt.Sprintf("; stderr: %q", s)
	}
	return errors.New(msg)
}
