package external

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
)

// Exit codes of the ext_auth protocol.
const (
	extAuthAccepted = 0
	extAuthDenied   = 1
	extAuthNoMatch  = 2
)

// stderrExcerpt bounds how much of a program's stderr an error quotes.
const stderrExcerpt = 512

// ExtAuth runs an ext_auth program per login.
type ExtAuth struct {
	prog *Program
	log  *slog.Logger
}

var _ authn.Authenticator = (*ExtAuth)(nil)

// NewExtAuth returns an authenticator running prog; log (nil discards)
// hears about unusual answers.
func NewExtAuth(prog *Program, log *slog.Logger) *ExtAuth {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ExtAuth{prog: prog, log: log.With("component", "authn", "backend", "ext_auth", "command", prog.Path())}
}

// Name implements authn.Authenticator.
func (a *ExtAuth) Name() string { return "ext_auth" }

// Authenticate implements authn.Authenticator.
func (a *ExtAuth) Authenticate(ctx context.Context, user string, password auth.Secret) (authn.Result, auth.Labels, error) {
	if !sendableUser(user) {
		// "alice x" could not be told from user "alice" with password
		// "x …": the program never sees such a name.
		return authn.NoMatch, nil, nil
	}
	pw := password.Reveal()
	if strings.ContainsFunc(pw, unicode.IsControl) {
		// A newline or NUL would end the program's `read` early, and it
		// would check a prefix of the password.
		return authn.WrongPassword, nil, nil
	}
	res, err := a.prog.Run(ctx, []byte(user+" "+pw))
	if err != nil {
		return authn.WrongPassword, nil, a.fail(err, res, pw)
	}
	switch res.ExitCode {
	case extAuthAccepted:
		labels, err := parseLabels(res.Stdout)
		if err != nil {
			return authn.WrongPassword, nil, a.fail(err, res, pw)
		}
		return authn.Accepted, labels, nil
	case extAuthDenied:
		return authn.WrongPassword, nil, nil
	case extAuthNoMatch:
		return authn.NoMatch, nil, nil
	}
	return authn.WrongPassword, nil, a.fail(fmt.Errorf("exit code %d is not 0 (accept), 1 (deny) or 2 (no match)", res.ExitCode), res, pw)
}

// fail builds the error for a run that gave no answer, quoting the
// program's stderr with the password hidden.
func (a *ExtAuth) fail(err error, res Result, pw string) error {
	msg := fmt.Sprintf("ext_auth: %s: %v", a.prog.Path(), err)
	if s := excerpt(res.Stderr, stderrExcerpt, pw); s != "" {
		msg += fmt.Sprintf("; stderr: %q", s)
	}
	return errors.New(msg)
}

// sendableUser reports whether user fits the one-line protocol: not empty
// (the anonymous account never reaches a program), no whitespace and no
// control characters.
func sendableUser(user string) bool {
	return user != "" && !strings.ContainsFunc(user, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}

// output is what a program may print on stdout with exit code 0. Other
// keys are ignored, as docker_auth ignores them.
type output struct {
	Labels map[string]labelValues `json:"labels"`
}

// labelValues accepts a list of strings or, for convenience, one string.
type labelValues []string

func (v *labelValues) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*v = []string{one}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("a label's value must be a string or a list of strings")
	}
	*v = list
	return nil
}

// parseLabels reads the optional labels document. Empty output means no
// labels; anything else must be one JSON object.
func parseLabels(stdout []byte) (auth.Labels, error) {
	if len(bytes.TrimSpace(stdout)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(stdout))
	var out output
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf(`exit code 0 with stdout that is not {"labels": {"name": ["value", …]}}: %v`, err)
	}
	if len(bytes.TrimSpace(stdout[dec.InputOffset():])) != 0 {
		return nil, errors.New("exit code 0 with something after the JSON document on stdout")
	}
	if len(out.Labels) == 0 {
		return nil, nil
	}
	labels := make(auth.Labels, len(out.Labels))
	for k, v := range out.Labels {
		if k == "" {
			return nil, errors.New("exit code 0 with a label without a name")
		}
		labels[k] = append([]string(nil), v...)
	}
	return labels, nil
}
