package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"wharf/e2e/harness"
	"wharf/internal/datadir"
)

// sessionConfig: carol is a configured user (the built-in admin is not in
// the file); she owns carol/*.
const sessionConfig = `auth: token
users:
  carol:
    password: %q
acl:
  - match: {account: admin}
    actions: ["*"]
  - match: {account: carol, name: "carol/*", source: static}
    actions: [pull, push]
`

// TestSessionsEndDocker: what `docker login` keeps (its identity token, a
// Wharf session) ends when the access it was opened with does, for the
// built-in admin and for a configured user, as the real docker CLI and
// daemon see it. Each docker client keeps its own login (--config).
func TestSessionsEndDocker(t *testing.T) {
	harness.SkipIfShort(t)
	rootfs := busyboxRootfs(t)
	d := harness.StartDockerd(t)
	const carolPW = "carol's long password"
	cfgDir := t.TempDir()
	cfg := writeConfig(t, cfgDir, fmt.Sprintf(sessionConfig, bcryptHash(t, carolPW)))
	// A port of its own, kept across the restart below: docker keys its
	// logins by host:port.
	w := harness.StartWharf(t, "--auth", "token", "--config", cfg, "--addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	t.Cleanup(httpClient.CloseIdleConnections)
	cli := wharfCLI{t: t, bin: harness.WharfBinary(t), data: w.DataDir()}

	// The generated admin password is in a file only its owner reads; the
	// log names the file, not the password.
	pwFile := datadir.New(w.DataDir()).AdminPassword()
	b, err := os.ReadFile(pwFile)
	if err != nil {
		t.Fatal(err)
	}
	adminPW := strings.TrimSpace(string(b))
	if !strings.Contains(w.Log(), pwFile) || strings.Contains(w.Log(), adminPW) {
		t.Fatalf("the log should name %s and not hold the password:\n%s", pwFile, w.Log())
	}

	adminCfg, carolCfg := t.TempDir(), t.TempDir()
	as := func(config string, args ...string) []string { return append([]string{"--config", config}, args...) }
	login := func(config, user, pw string) error {
		out, err := d.TryRun(strings.NewReader(pw), as(config, "login", "-u", user, "--password-stdin", w.Addr())...)
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	}
	// pull asks the registry (the image is removed first), with the login
	// the client keeps.
	pull := func(config, image string) error {
		_, _ = d.TryRun(nil, "rmi", image)
		out, err := d.TryRun(nil, as(config, "pull", image)...)
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	}
	adminImage, carolImage := w.Addr()+"/tools/app:1", w.Addr()+"/carol/app:1"
	d.Run("import", rootfs, adminImage)
	d.Run("tag", adminImage, carolImage)
	for _, l := range []struct{ config, user, pw, image string }{
		{adminCfg, "admin", adminPW, adminImage}, {carolCfg, "carol", carolPW, carolImage},
	} {
		if err := login(l.config, l.user, l.pw); err != nil {
			t.Fatalf("docker login %s: %v", l.user, err)
		}
		d.Run(as(l.config, "push", l.image)...)
	}
	if out := cli.run("", "session", "ls"); !strings.Contains(out, "admin") || !strings.Contains(out, "carol") || !strings.Contains(out, "static") {
		t.Errorf("session ls does not show both docker logins with their source:\n%s", out)
	}

	// The admin password changes: admin's stored session ends, carol's
	// does not; the old password is refused and the new one works, without
	// a restart.
	const newAdminPW = "the admin's new password"
	if out := cli.run(newAdminPW+"\n", "user", "passwd", "admin", "--password-stdin"); !strings.Contains(out, "sessions ended") {
		t.Errorf("user passwd admin: %s", out)
	}
	if err := pull(adminCfg, adminImage); err == nil {
		t.Error("admin's docker session still pulls after the password change")
	}
	if err := pull(carolCfg, carolImage); err != nil {
		t.Errorf("carol's session ended with admin's password: %v", err)
	}
	if err := login(adminCfg, "admin", adminPW); err == nil {
		t.Error("the old admin password still logs in")
	}
	if err := login(adminCfg, "admin", newAdminPW); err != nil {
		t.Fatalf("the new admin password: %v", err)
	}
	if err := pull(adminCfg, adminImage); err != nil {
		t.Errorf("admin pulls after logging in again: %v", err)
	}
	if _, err := os.Stat(pwFile); !os.IsNotExist(err) {
		t.Errorf("the generated password's file outlives the change: %v", err)
	}

	// An operator ends carol's sessions.
	if out := cli.run("", "session", "revoke", "--user", "carol"); !strings.Contains(out, "ended 1 session(s) of carol") {
		t.Errorf("session revoke --user carol: %s", out)
	}
	if err := pull(carolCfg, carolImage); err == nil {
		t.Error("carol's revoked session still pulls")
	}
	if err := login(carolCfg, "carol", carolPW); err != nil {
		t.Fatal(err)
	}
	if err := pull(carolCfg, carolImage); err != nil {
		t.Errorf("carol pulls after logging in again: %v", err)
	}

	// carol is removed from the configuration: her stored session ends at
	// its next refresh, admin's goes on.
	w.Stop()
	writeConfig(t, cfgDir, strings.Replace(fmt.Sprintf(sessionConfig, bcryptHash(t, carolPW)), "  carol:\n", "  carol-was-here:\n", 1))
	w.Restart()
	if err := pull(carolCfg, carolImage); err == nil {
		t.Error("a session of a user removed from the configuration still pulls")
	}
	if err := pull(adminCfg, adminImage); err != nil {
		t.Errorf("admin's session after the restart: %v", err)
	}
	if !strings.Contains(w.Log(), "session ended") || !strings.Contains(w.Log(), "no longer admits") {
		t.Errorf("the end of carol's session is not logged:\n%s", w.Log())
	}
}
