package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"wharf/e2e/harness"
)

// wharfCLI runs the wharf binary against a running server's data
// directory, as an operator would while it serves.
type wharfCLI struct {
	t    *testing.T
	bin  string
	data string
}

// try runs a command and returns its standard output, or an error with
// its standard error.
func (c wharfCLI) try(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, append(args, "--data", c.data)...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = c.env()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%w: %s", err, stderr.String())
	}
	return string(out), nil
}

// env is the test's environment without WHARF_* variables, which would
// configure the command.
func (c wharfCLI) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WHARF_") {
			env = append(env, kv)
		}
	}
	return env
}

func (c wharfCLI) run(stdin string, args ...string) string {
	c.t.Helper()
	out, err := c.try(stdin, args...)
	if err != nil {
		c.t.Fatalf("wharf %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TestIdentityDocker manages users, teams, ACL rules and tokens with the
// wharf CLI while `wharf serve` runs, and checks each change with the real
// docker CLI and daemon, without restarting the server.
func TestIdentityDocker(t *testing.T) {
	harness.SkipIfShort(t)
	rootfs := busyboxRootfs(t)
	d := harness.StartDockerd(t)
	w := harness.StartWharf(t, "--auth", "token")
	t.Cleanup(httpClient.CloseIdleConnections)
	cli := wharfCLI{t: t, bin: harness.WharfBinary(t), data: w.DataDir()}
	const alicePassword = "alice's long password"

	// A user, a team with the user in it, and a rule for the team.
	cli.run(alicePassword+"\n", "user", "add", "alice", "--password-stdin")
	cli.run("", "team", "add", "dev")
	cli.run("", "team", "member", "add", "dev", "alice")
	cli.run("", "acl", "add", "--label", "groups=dev", "--name", "dev/*", "--actions", "pull,push", "--comment", "the dev team")
	if out := cli.run("", "acl", "check", "alice", "repository:dev/app:push"); !strings.Contains(out, "the dev team") {
		t.Errorf("acl check does not name the deciding rule:\n%s", out)
	}

	image := w.Addr() + "/dev/app:1"
	d.Run("import", rootfs, image)
	if out, err := d.TryRun(strings.NewReader("wrong password"), "login", "-u", "alice", "--password-stdin", w.Addr()); err == nil {
		t.Fatalf("docker login with a wrong password succeeded:\n%s", out)
	}
	d.Run("login", "-u", "alice", "--password", alicePassword, w.Addr())
	d.Run("push", image)
	d.Run("rmi", image)
	d.Run("pull", image)
	if out, err := d.TryRun(nil, "push", w.Addr()+"/ops/app:1"); err == nil {
		t.Errorf("alice pushed outside her team's repositories:\n%s", out)
	}

	// Disabled: logins fail at once (no restart, whatever the login
	// cache holds), and so does the session docker keeps.
	cli.run("", "user", "disable", "alice")
	if out, err := d.TryRun(strings.NewReader(alicePassword), "login", "-u", "alice", "--password-stdin", w.Addr()); err == nil {
		t.Fatalf("a disabled user logged in:\n%s", out)
	}
	d.Run("rmi", image)
	if out, err := d.TryRun(nil, "pull", image); err == nil {
		t.Errorf("a disabled user's stored docker session still pulls:\n%s", out)
	}
	cli.run("", "user", "enable", "alice")
	d.Run("login", "-u", "alice", "--password", alicePassword, w.Addr())
	d.Run("pull", image)
	d.Run("logout", w.Addr())

	// A robot account for CI, whose token may only pull.
	cli.run("", "user", "add", "ci", "--robot")
	cli.run("", "team", "member", "add", "dev", "ci")
	token := strings.TrimSpace(cli.run("", "token", "create", "--user", "ci", "--repo", "dev/*", "--actions", "pull", "--expires", "1d"))
	if !strings.HasPrefix(token, "wharf_") {
		t.Fatalf("token create printed %q", token)
	}
	if out, err := d.TryRun(strings.NewReader("a password"), "login", "-u", "ci", "--password-stdin", w.Addr()); err == nil {
		t.Fatalf("a robot logged in with a password:\n%s", out)
	}
	if out, err := d.TryRun(strings.NewReader(token), "login", "-u", "ci", "--password-stdin", w.Addr()); err != nil {
		t.Fatalf("docker login with the robot's token: %v\n%s", err, out)
	}
	d.Run("rmi", image)
	d.Run("pull", image)
	pushed := w.Addr() + "/dev/app:2"
	d.Run("tag", image, pushed)
	out, err := d.TryRun(nil, "push", pushed)
	if err == nil {
		t.Fatalf("a pull-only token pushed:\n%s", out)
	}
	if !strings.Contains(out, "denied") {
		t.Errorf("push with a pull-only token: want docker's \"denied\", got:\n%s", out)
	}
	var tokens []struct {
		ID       string     `json:"id"`
		LastUsed *time.Time `json:"last_used_at"`
	}
	if out := cli.run("", "token", "ls", "--user", "ci", "--json"); json.Unmarshal([]byte(out), &tokens) != nil || len(tokens) != 1 {
		t.Fatalf("token ls --json:\n%s", out)
	}
	if tokens[0].LastUsed == nil {
		t.Error("the token's last use was not recorded")
	}

	// Revoked: the session opened with the token ends, and the token no
	// longer logs in.
	id := tokens[0].ID
	cli.run("", "token", "revoke", id)
	d.Run("rmi", image)
	if out, err := d.TryRun(nil, "pull", image); err == nil {
		t.Errorf("a revoked token's session still pulls:\n%s", out)
	}
	if out, err := d.TryRun(strings.NewReader(token), "login", "-u", "ci", "--password-stdin", w.Addr()); err == nil {
		t.Errorf("docker login with a revoked token succeeded:\n%s", out)
	}
}
