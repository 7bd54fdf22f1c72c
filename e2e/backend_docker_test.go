package e2e

import (
	"strings"
	"testing"

	"wharf/e2e/harness"
)

// backendUsers are two accounts of one authentication backend: pusher may
// push team/app, puller may only pull it.
type backendUsers struct {
	backend                string // for messages, e.g. "LDAP"
	pusher, pusherPassword string
	puller, pullerPassword string
	pullerDenied           string   // why puller may not push, for messages
	extraSecrets           []string // more secrets that must stay out of the log
	// started, when set, runs once wharf serves, before docker logs in
	// (for example to add rules with the wharf CLI).
	started func(w *harness.Wharf)
}

// dockerWithBackend starts `wharf serve` with config (a wharf.yml whose
// ACL lets u.pusher push team/app and u.puller pull it) and a real docker
// daemon, then: a wrong password fails docker login; the pusher logs in and
// pushes; the puller logs in, pulls, and gets docker's own denial for a push.
// No password may reach wharf's log.
func dockerWithBackend(t *testing.T, config, rootfs string, u backendUsers) {
	t.Helper()
	w := harness.StartWharf(t, "--config", config, "--auth", "token")
	t.Cleanup(httpClient.CloseIdleConnections)
	if u.started != nil {
		u.started(w)
	}
	d := harness.StartDockerd(t)
	img := w.Addr() + "/team/app:1"
	d.Run("import", rootfs, img)

	if out, err := d.TryRun(strings.NewReader("wrong"), "login", "-u", u.pusher, "--password-stdin", w.Addr()); err == nil {
		t.Fatalf("docker login with a wrong %s password succeeded:\n%s", u.backend, out)
	}
	if out, err := d.TryRun(strings.NewReader(u.pusherPassword), "login", "-u", u.pusher, "--password-stdin", w.Addr()); err != nil {
		t.Fatalf("docker login as the %s user %s: %v\n%s", u.backend, u.pusher, err, out)
	}
	d.Run("push", img)
	d.Run("logout", w.Addr())
	d.Run("rmi", img)

	if out, err := d.TryRun(strings.NewReader(u.pullerPassword), "login", "-u", u.puller, "--password-stdin", w.Addr()); err != nil {
		t.Fatalf("docker login as the %s user %s: %v\n%s", u.backend, u.puller, err, out)
	}
	d.Run("pull", img)
	d.Run("tag", img, w.Addr()+"/team/app:2")
	out, err := d.TryRun(nil, "push", w.Addr()+"/team/app:2")
	if err == nil {
		t.Fatalf("%s, %s, pushed:\n%s", u.puller, u.pullerDenied, out)
	}
	if !strings.Contains(out, "denied: requested access to the resource is denied") {
		t.Errorf("push by %s: want docker's denial, got:\n%s", u.puller, out)
	}
	log := w.Log()
	for _, secret := range append([]string{u.pusherPassword, u.pullerPassword}, u.extraSecrets...) {
		if secret != "" && strings.Contains(log, secret) {
			t.Errorf("a %s password reached wharf's log", u.backend)
		}
	}
}
