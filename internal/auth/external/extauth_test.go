package external_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/authntest"
	"wharf/internal/auth/external"
	"wharf/internal/auth/external/externaltest"
)

// quote makes s one single-quoted shell word.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// writeScript writes an executable shell script and returns its path.
func writeScript(t *testing.T, body string) string {
	t.Helper()
	return externaltest.Script(t, "ext_auth.sh", body)
}

func newAuth(t *testing.T, path string, timeout time.Duration, args ...string) *external.ExtAuth {
	t.Helper()
	prog, err := external.NewProgram(external.ProgramConfig{Command: path, Args: args, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return external.NewExtAuth(prog, nil)
}

// fixtureScript is an ext_auth program that knows the fixture's users:
// it splits stdin at the first space, as the protocol defines it, and
// compares with the fixture.
func fixtureScript(t *testing.T, f authntest.Fixture) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("line=$(cat)\nu=${line%% *}\np=${line#* }\ncase \"$u\" in\n")
	for _, u := range f.Users {
		fmt.Fprintf(&b, "%s)\n  [ \"$p\" = %s ] || exit 1\n", quote(u.Name), quote(u.Password))
		if len(u.Labels) > 0 {
			j, err := json.Marshal(map[string]auth.Labels{"labels": u.Labels})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "  printf '%%s\\n' %s\n", quote(string(j)))
		}
		b.WriteString("  exit 0;;\n")
	}
	b.WriteString("esac\nexit 2\n")
	return writeScript(t, b.String())
}

func TestExtAuthConformance(t *testing.T) {
	authntest.Run(t, authntest.Contract{UnknownUser: authn.NoMatch, Labels: true},
		func(t *testing.T, f authntest.Fixture) authn.Authenticator {
			return newAuth(t, fixtureScript(t, f), 30*time.Second)
		})
}

// docker_auth's example script, unchanged (examples/ext_auth.sh uses bash).
const dockerAuthExample = `#!/bin/bash
#
# Example external authenticator program for use with ` + "`ext_auth`" + `.
#

read u p

if [ "$u" == "user" -a "$p" == "pass" ]; then
  exit 0
fi

if [ "$u" == "bofh" -a "$p" == "LART" ]; then
  echo '{"labels": {"level": ["max"], "groups": ["VIP", "ATeam"]}}'
  exit 0
fi

exit 1
`

func TestDockerAuthExampleScript(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ext_auth.sh")
	if err := os.WriteFile(path, []byte(dockerAuthExample), 0o755); err != nil {
		t.Fatal(err)
	}
	a := newAuth(t, path, 30*time.Second)
	ctx := context.Background()
	tests := []struct {
		user, pw string
		want     authn.Result
		labels   auth.Labels
	}{
		{"user", "pass", authn.Accepted, nil},
		{"bofh", "LART", authn.Accepted, auth.Labels{"level": {"max"}, "groups": {"VIP", "ATeam"}}},
		{"user", "wrong", authn.WrongPassword, nil},
		{"nobody", "pass", authn.WrongPassword, nil},
	}
	for _, tc := range tests {
		res, labels, err := a.Authenticate(ctx, tc.user, auth.Secret(tc.pw))
		if err != nil || res != tc.want {
			t.Errorf("%s/%s: %v, %v; want %v", tc.user, tc.pw, res, err, tc.want)
		}
		if diff := cmp.Diff(tc.labels, labels); diff != "" {
			t.Errorf("%s labels (-want +got):\n%s", tc.user, diff)
		}
	}
}

func TestExtAuthErrorsNeverAccept(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
	}{
		{"exit 3", "exit 3"},
		{"exit 255", "exit 255"},
		{"exit 127 (command not found)", "no-such-command-anywhere"},
		{"garbage labels", "echo 'welcome!'; exit 0"},
		{"labels not a map", `echo '{"labels": ["dev"]}'; exit 0`},
		{"label values not strings", `echo '{"labels": {"group": [1]}}'; exit 0`},
		{"two documents", `echo '{"labels": {}} {"labels": {}}'; exit 0`},
		{"killed", "kill -9 $$"},
		{"huge output", "head -c 10000000 /dev/zero; exit 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newAuth(t, writeScript(t, "cat >/dev/null\n"+tc.body+"\n"), 30*time.Second)
			res, labels, err := a.Authenticate(context.Background(), "alice", "pw")
			if err == nil || res == authn.Accepted || labels != nil {
				t.Fatalf("%v, %v, %v; want an error and no grant", res, labels, err)
			}
		})
	}
}

func TestExtAuthTimeoutIsAnError(t *testing.T) {
	t.Parallel()
	a := newAuth(t, writeScript(t, "sleep 1000 & wait\n"), 300*time.Millisecond)
	res, _, err := a.Authenticate(context.Background(), "alice", "pw")
	if err == nil || res == authn.Accepted || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("%v, %v; want a timeout error", res, err)
	}
}

func TestExtAuthLabelShapes(t *testing.T) {
	t.Parallel()
	a := newAuth(t, writeScript(t, `cat >/dev/null; echo '{"labels": {"group": "ops", "org": ["a", "b"]}, "message": "ignored"}'`), 30*time.Second)
	res, labels, err := a.Authenticate(context.Background(), "alice", "pw")
	if err != nil || res != authn.Accepted {
		t.Fatalf("%v, %v", res, err)
	}
	if diff := cmp.Diff(auth.Labels{"group": {"ops"}, "org": {"a", "b"}}, labels); diff != "" {
		t.Error(diff)
	}
}

// TestExtAuthPasswordStaysOnStdin: the password reaches the program on stdin
// only — not its arguments, not its environment — and never an error,
// even when the program prints it on stderr.
func TestExtAuthPasswordStaysOnStdin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const pw = "s3cret-Pa55"
	body := fmt.Sprintf(`read line
printf '%%s\n' "$@" > %s/args
env > %s/env
tr '\0' '\n' < /proc/$$/cmdline > %s/cmdline
echo "checking $line" >&2
exit 42
`, dir, dir, dir)
	a := newAuth(t, writeScript(t, body), 30*time.Second, "--flag")
	_, _, err := a.Authenticate(context.Background(), "alice", pw)
	if err == nil {
		t.Fatal("exit 42 was not an error")
	}
	if strings.Contains(err.Error(), pw) {
		t.Errorf("the error carries the password: %v", err)
	}
	if !strings.Contains(err.Error(), "checking alice ***") {
		t.Errorf("the error should quote stderr with the password hidden: %v", err)
	}
	for _, f := range []string{"args", "env", "cmdline"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(pw)) {
			t.Errorf("the password is in the program's %s", f)
		}
	}
}

// TestExtAuthUnsendableInput: names and passwords the one-line protocol cannot
// carry never reach the program.
func TestExtAuthUnsendableInput(t *testing.T) {
	t.Parallel()
	ran := filepath.Join(t.TempDir(), "ran")
	a := newAuth(t, writeScript(t, "touch "+quote(ran)+"\nexit 0\n"), 30*time.Second)
	ctx := context.Background()
	for _, tc := range []struct {
		user, pw string
		want     authn.Result
	}{
		{"alice bob", "pw", authn.NoMatch},
		{"alice\t", "pw", authn.NoMatch},
		{"alice\n", "pw", authn.NoMatch},
		{"", "", authn.NoMatch},
		{"alice", "pw\nrest", authn.WrongPassword},
		{"alice", "pw\x00", authn.WrongPassword},
	} {
		if res, _, err := a.Authenticate(ctx, tc.user, auth.Secret(tc.pw)); err != nil || res != tc.want {
			t.Errorf("%q: %v, %v; want %v", tc.user, res, err, tc.want)
		}
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("the program ran for input it cannot read unambiguously")
	}
}
