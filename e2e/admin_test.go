package e2e

import (
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"wharf/e2e/harness"
	"wharf/internal/accounts"
	"wharf/internal/datadir"
	"wharf/internal/metadata"
)

// oldLayout turns the data directory of a stopped server into the layout
// of earlier releases: the built-in admin is not in the account database
// but in auth/admin.htpasswd, with password pw.
func oldLayout(t *testing.T, data, pw string) {
	t.Helper()
	dir := datadir.New(data)
	store, err := metadata.Open(t.Context(), "sqlite", dir.Database(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.DeleteUser(t.Context(), "admin"); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(dir.AdminPassword()); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, dir.Auth(), "admin.htpasswd", "admin:"+bcryptHash(t, pw)+"\n", 0o600)
}

// TestAdminUpgrade starts wharf serve on a data directory of an earlier
// release: the admin moves into the account database with its password,
// WHARF_ADMIN_PASSWORD (another one) is not applied, and the admin is then
// an account like any other: listed, refused being disabled while it is
// the only administrator, disabled once another account administers.
func TestAdminUpgrade(t *testing.T) {
	harness.SkipIfShort(t)
	const (
		oldPW = "the admin's old password"
		envPW = "a different admin password"
		opsPW = "the operator's password"
	)
	data := t.TempDir()
	first := harness.StartWharfCommand(t, nil, "serve", "--addr", "127.0.0.1:0", "--data", data, "--auth", "token", "--tls", "off")
	first.Stop()
	oldLayout(t, data, oldPW)
	dir := datadir.New(data)

	w := harness.StartWharfCommand(t, []string{"WHARF_ADMIN_PASSWORD=" + envPW},
		"serve", "--addr", "127.0.0.1:0", "--data", data, "--auth", "token", "--tls", "off")
	t.Cleanup(httpClient.CloseIdleConnections)
	for _, want := range []string{"moved the admin account from its file into the account database", "WHARF_ADMIN_PASSWORD is not applied"} {
		if !strings.Contains(w.Log(), want) {
			t.Errorf("the log does not say %q:\n%s", want, w.Log())
		}
	}
	if strings.Contains(w.Log(), envPW) || strings.Contains(w.Log(), oldPW) {
		t.Errorf("the log holds a password:\n%s", w.Log())
	}
	if _, err := os.Stat(dir.AdminHash()); !os.IsNotExist(err) {
		t.Errorf("%s is still in place: %v", dir.AdminHash(), err)
	}
	if _, err := os.Stat(dir.AdminHashMigrated()); err != nil {
		t.Errorf("the old file was not kept as %s: %v", dir.AdminHashMigrated(), err)
	}

	// The admin logs in with the old password, at the token endpoint and
	// the admin API, which lists it; the environment's password does not.
	realm := w.URL() + "/auth/token"
	if _, access := tokenFor(t, realm, "wharf", "repository:tools/app:pull,push", "admin", oldPW); len(access) != 1 || !slices.Contains(access[0].Actions, "push") {
		t.Errorf("admin's token after the upgrade grants %+v", access)
	}
	api := adminClient{t: t, base: w.URL() + "/api/v1"}
	admin := basicAuth("admin", oldPW)
	var list struct{ Users []accounts.UserView }
	api.must(http.StatusOK, admin, "GET", "/users", nil, &list)
	if len(list.Users) != 1 || list.Users[0].Name != "admin" || !list.Users[0].Builtin {
		t.Errorf("GET /users after the upgrade: %+v", list.Users)
	}
	if status, _ := api.call(basicAuth("admin", envPW), "GET", "/users", nil, nil); status != http.StatusUnauthorized {
		t.Errorf("WHARF_ADMIN_PASSWORD logged in: %d", status)
	}

	cli := wharfCLI{t: t, bin: harness.WharfBinary(t), data: data}
	if out := cli.run("", "user", "ls"); !strings.Contains(out, "user (built-in admin)") {
		t.Errorf("user ls does not show the built-in admin:\n%s", out)
	}
	if _, err := cli.try("", "user", "disable", "admin"); err == nil || !strings.Contains(err.Error(), "no account that may administer") ||
		!strings.Contains(err.Error(), "wharf acl add") {
		t.Errorf("user disable admin while it is the only administrator: %v", err)
	}
	if status, _ := api.call(admin, "PATCH", "/users/admin", map[string]any{"disabled": true}, nil); status != http.StatusConflict {
		t.Errorf("PATCH disabled admin while it is the only administrator: %d, want 409", status)
	}
	api.must(http.StatusOK, admin, "GET", "/users", nil, nil)

	// Another administrator: now admin may be disabled, and cannot log in.
	cli.run(opsPW+"\n", "user", "add", "ops", "--password-stdin")
	cli.run("", "acl", "add", "--account", "ops", "--type", "admin", "--name", "api", "--actions", "*")
	if out := cli.run("", "user", "disable", "admin"); !strings.Contains(out, "admin") {
		t.Errorf("user disable admin: %q", out)
	}
	if status, _ := api.call(admin, "GET", "/users", nil, nil); status != http.StatusUnauthorized {
		t.Errorf("the disabled admin logged in: %d", status)
	}
	api.must(http.StatusOK, basicAuth("ops", opsPW), "GET", "/users", nil, nil)

	// A restart keeps the disabled admin as it is: nothing is created or
	// moved again.
	w.Stop()
	w.Restart()
	if strings.Contains(w.Log(), "created the admin account") || strings.Contains(w.Log(), "moved the admin account") {
		t.Errorf("the restart created or moved the admin again:\n%s", w.Log())
	}
	if _, err := os.Stat(dir.AdminPassword()); !os.IsNotExist(err) {
		t.Errorf("the restart generated a password: %v", err)
	}
	api = adminClient{t: t, base: w.URL() + "/api/v1"} // a new port
	if status, _ := api.call(admin, "GET", "/users", nil, nil); status != http.StatusUnauthorized {
		t.Errorf("the disabled admin logged in after the restart: %d", status)
	}
	api.must(http.StatusOK, basicAuth("ops", opsPW), "GET", "/users", nil, nil)
}
