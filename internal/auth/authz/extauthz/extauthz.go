package extauthz

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"wharf/internal/auth"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/extcmd"
)

// Exit codes of the ext_authz protocol.
const (
	exitAllowed = 0
	exitDenied  = 1
)

// stderrExcerpt bounds how much of the program's stderr an error quotes.
const stderrExcerpt = 512

// Authorizer runs an ext_authz program per requested scope.
type Authorizer struct {
	prog *extcmd.Program
	log  *slog.Logger
}

var _ authz.Authorizer = (*Authorizer)(nil)

// New returns an authorizer running prog; log (nil discards) hears about
// each decision at debug level.
func New(prog *extcmd.Program, log *slog.Logger) *Authorizer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Authorizer{prog: prog, log: log.With("component", "authz", "backend", "ext_authz", "command", prog.Path())}
}

// Name implements authz.Authorizer.
func (a *Authorizer) Name() string { return "ext_authz" }

// request is docker_auth's AuthRequestInfo as encoding/json writes it (the
// Go field names, no tags): what existing ext_authz programs parse.
type request struct {
	Account string
	Type    string
	Name    string
	Service string
	IP      string
	Actions []string
	Labels  auth.Labels
}

// Input is the JSON document an ext_authz program reads for req.
func Input(req auth.Request) ([]byte, error) {
	ip := ""
	if req.IP.IsValid() {
		ip = req.IP.Unmap().String()
	}
	actions := req.Access.Actions
	if actions == nil {
		actions = []string{}
	}
	return json.Marshal(request{
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
func (a *Authorizer) Authorize(ctx context.Context, req auth.Request) ([]string, error) {
	in, err := Input(req)
	if err != nil {
		return nil, fmt.Errorf("ext_authz: %w", err)
	}
	res, err := a.prog.Run(ctx, in)
	if err != nil {
		return nil, a.fail(err, res)
	}
	a.log.DebugContext(ctx, "ext_authz answered", "account", req.Identity.Account, "scope", req.Access.String(), "exit_code", res.ExitCode)
	switch res.ExitCode {
	case exitAllowed:
		return append([]string{}, req.Access.Actions...), nil
	case exitDenied:
		return []string{}, nil
	}
	return nil, a.fail(fmt.Errorf("exit code %d is not 0 (allow) or 1 (deny)", res.ExitCode), res)
}

func (a *Authorizer) fail(err error, res extcmd.Result) error {
	msg := fmt.Sprintf("ext_authz: %s: %v", a.prog.Path(), err)
	if s := extcmd.Excerpt(res.Stderr, stderrExcerpt); s != "" {
		msg += fmt.Sprintf("; stderr: %q", s)
	}
	return errors.New(msg)
}
