package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"wharf/internal/accounts"
)

// runCLI runs the wharf command line with stdin and returns its output.
func runCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRoot(&out, &errb)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String(), errb.String(), err
}

// mustCLI runs the command line and fails the test on error.
func mustCLI(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := runCLI(t, stdin, args...)
	if err != nil {
		t.Fatalf("wharf %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func wantFail(t *testing.T, stdin string, want string, args ...string) {
	t.Helper()
	out, _, err := runCLI(t, stdin, args...)
	if err == nil {
		t.Fatalf("wharf %s succeeded:\n%s", strings.Join(args, " "), out)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("wharf %s: error %q does not mention %q", strings.Join(args, " "), err, want)
	}
}

// deniedCLI runs wharf acl check and fails the test unless it explains a
// denial and returns errDenied (exit status 1).
func deniedCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := runCLI(t, "", args...)
	if !errors.Is(err, errDenied) {
		t.Fatalf("wharf %s: %v, want the denial\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func TestIdentityCommands(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	d := []string{"--data", data}
	cmd := func(args ...string) []string { return append(args, d...) }

	// Passwords: from stdin, checked, never from argv.
	wantFail(t, "short\n", "at least 12", cmd("user", "add", "alice", "--password-stdin")...)
	wantFail(t, "", "--password-stdin", cmd("user", "add", "alice")...)
	wantFail(t, "", "unknown flag: --password", cmd("user", "add", "alice", "--password", "correct horse battery")...)
	wantFail(t, "correct horse battery\n", "built-in administrator", cmd("user", "add", "admin", "--password-stdin")...)
	wantFail(t, "correct horse battery\n", "a:b", cmd("user", "add", "a:b", "--password-stdin")...)
	mustCLI(t, "correct horse battery\n", cmd("user", "add", "alice", "--password-stdin", "--label", "org=acme")...)
	wantFail(t, "correct horse battery\n", `user "alice" already exists`, cmd("user", "add", "alice", "--password-stdin")...)
	mustCLI(t, "", cmd("user", "add", "ci", "--robot")...)
	wantFail(t, "another password 1\n", "robot account", cmd("user", "passwd", "ci", "--password-stdin")...)
	mustCLI(t, "another password 1\n", cmd("user", "passwd", "alice", "--password-stdin")...)
	wantFail(t, "another password 1\n", `no such user "bob"`, cmd("user", "passwd", "bob", "--password-stdin")...)

	var users []accounts.UserView
	out := mustCLI(t, "", cmd("user", "ls", "--json")...)
	if err := json.Unmarshal([]byte(out), &users); err != nil || len(users) != 2 || users[0].Name != "alice" || !users[1].Robot {
		t.Fatalf("user ls --json = %s (%v)", out, err)
	}
	if strings.Contains(out, "$2") {
		t.Errorf("user ls shows a password hash:\n%s", out)
	}

	mustCLI(t, "", cmd("team", "add", "dev")...)
	mustCLI(t, "", cmd("team", "member", "add", "dev", "alice", "ci")...)
	if out := mustCLI(t, "", cmd("team", "ls")...); !strings.Contains(out, "alice,ci") {
		t.Errorf("team ls:\n%s", out)
	}
	wantFail(t, "", `no such team "ops"`, cmd("team", "member", "add", "ops", "alice")...)

	mustCLI(t, "", cmd("acl", "add", "--label", "groups=dev", "--name", "dev/*", "--actions", "pull,push", "--comment", "dev team")...)
	wantFail(t, "", "--actions", cmd("acl", "add", "--account", "alice")...)
	wantFail(t, "", "placeholder", cmd("acl", "add", "--name", "${acount}/*", "--actions", "pull")...)
	out = mustCLI(t, "", cmd("acl", "ls")...)
	if !strings.Contains(out, `{name: "dev/*", labels: {groups: dev}}`) || !strings.Contains(out, "built-in default") {
		t.Errorf("acl ls:\n%s", out)
	}
	out = mustCLI(t, "", cmd("acl", "check", "alice", "repository:dev/app:pull,push")...)
	for _, want := range []string{"database rule 1 (position 1)", "granted:      pull, push", "groups=dev"} {
		if !strings.Contains(out, want) {
			t.Errorf("acl check does not say %q:\n%s", want, out)
		}
	}
	out = deniedCLI(t, cmd("acl", "check", "bob", "repository:dev/app:pull")...)
	if !strings.Contains(out, "no rule matches") || !strings.Contains(out, "denied:") {
		t.Errorf("acl check of an unknown account:\n%s", out)
	}

	// Tokens: printed once, listed without the secret, revocable.
	wantFail(t, "", "--repo", cmd("token", "create", "--user", "ci")...)
	wantFail(t, "", "--expires", cmd("token", "create", "--user", "ci", "--repo", "dev/*", "--actions", "pull", "--expires", "soon")...)
	tok := strings.TrimSpace(mustCLI(t, "", cmd("token", "create", "--user", "ci", "--repo", "dev/*", "--actions", "pull", "--expires", "30d")...))
	if !strings.HasPrefix(tok, "wharf_") {
		t.Fatalf("token create printed %q", tok)
	}
	out = mustCLI(t, "", cmd("token", "ls", "--json")...)
	if strings.Contains(out, tok) || strings.Contains(out, tok[len(tok)-20:]) {
		t.Errorf("token ls shows the token:\n%s", out)
	}
	var tokens []accounts.TokenView
	if err := json.Unmarshal([]byte(out), &tokens); err != nil || len(tokens) != 1 || tokens[0].User != "ci" || tokens[0].ExpiresAt == nil {
		t.Fatalf("token ls --json = %s (%v)", out, err)
	}
	out = deniedCLI(t, cmd("acl", "check", "ci", "repository:dev/app:pull,push", "--token", tokens[0].ID)...)
	if !strings.Contains(out, "granted:      pull") || !strings.Contains(out, "denied:       push") {
		t.Errorf("acl check with a token:\n%s", out)
	}
	mustCLI(t, "", cmd("token", "revoke", tokens[0].ID)...)
	if out := mustCLI(t, "", cmd("token", "ls")...); strings.Contains(out, tokens[0].ID) {
		t.Errorf("a revoked token is listed without --all:\n%s", out)
	}
	if out := mustCLI(t, "", cmd("token", "ls", "--all")...); !strings.Contains(out, "revoked") {
		t.Errorf("token ls --all does not show the revoked token:\n%s", out)
	}

	mustCLI(t, "", cmd("user", "disable", "alice")...)
	if out := deniedCLI(t, cmd("acl", "check", "alice", "repository:dev/app:pull")...); !strings.Contains(out, "disabled") {
		t.Errorf("acl check of a disabled user:\n%s", out)
	}
	mustCLI(t, "", cmd("user", "rm", "alice")...)
	wantFail(t, "", `no such user "alice"`, cmd("user", "enable", "alice")...)
}

func TestHashPassword(t *testing.T) {
	t.Parallel()
	out := strings.TrimSpace(mustCLI(t, "correct horse battery\n", "hash-password", "--password-stdin", "--cost", "4", "bob"))
	user, hash, ok := strings.Cut(out, ":")
	if !ok || user != "bob" || !strings.HasPrefix(hash, "$2y$04$") || bcrypt.CompareHashAndPassword([]byte(hash), []byte("correct horse battery")) != nil {
		t.Errorf("hash-password printed %q", out)
	}
	wantFail(t, "tiny\n", "at least 12", "hash-password", "--password-stdin")
}
