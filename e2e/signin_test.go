package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"wharf/e2e/harness"
	"wharf/internal/auth/token"
	"wharf/internal/testserver"
)

// forgeSignIn signs in at start as login (the forge consents at once) and
// returns the registry password shown.
func forgeSignIn(t *testing.T, f *testserver.Forge, start, login string) string {
	t.Helper()
	f.SignInAs(login)
	resp, err := testserver.Browser(t).Get(start)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := registryPasswordRE.FindStringSubmatch(string(body))
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("sign-in of %s at %s: status %d, no password:\n%s", login, start, resp.StatusCode, body)
	}
	return m[1]
}

// TestDockerSignInGitHubGitLab signs a GitHub and a GitLab user in (against
// a test double of both services) and logs the real docker client in with
// the registry passwords: the acme/pushers team or group may push.
func TestDockerSignInGitHubGitLab(t *testing.T) {
	harness.SkipIfShort(t)
	rootfs := busyboxRootfs(t)
	forge := testserver.StartForge(t,
		&testserver.ForgeUser{Login: "octocat", Orgs: []string{"acme"}, Teams: map[string][]string{"acme": {"pushers"}}},
		&testserver.ForgeUser{Login: "ann", Groups: []string{"acme"}, State: "active"})
	forge.SetExpiresIn(7200)
	body := fmt.Sprintf(`auth: token
github_auth:
  organization: acme
  client_id: %[1]q
  client_secret_file: %[2]q
  github_web_uri: %[3]q
  github_api_uri: "%[3]s/api"
gitlab_auth:
  organization: acme
  client_id: %[1]q
  client_secret_file: %[2]q
  gitlab_web_uri: %[3]q
acl:
  - match: {account: "/.+/", labels: {groups: acme/pushers}}
    actions: ["*"]
  - match: {account: "/.+/"}
    actions: [pull]
`, forge.ClientID, forge.SecretFile, forge.URL)
	cfg := writeConfig(t, t.TempDir(), body)
	w := harness.StartWharf(t, "--config", cfg, "--auth", "token")
	t.Cleanup(httpClient.CloseIdleConnections)
	forge.SetCallback(w.URL() + "/auth/github/callback") // the GitHub app's registered callback
	d := harness.StartDockerd(t)
	img := w.Addr() + "/acme/app:1"
	d.Run("import", rootfs, img)

	octoPW := forgeSignIn(t, forge, w.URL()+"/auth/github/login", "octocat")
	if out, err := d.TryRun(strings.NewReader(octoPW), "login", "-u", "octocat", "--password-stdin", w.Addr()); err != nil {
		t.Fatalf("docker login as the GitHub user: %v\n%s", err, out)
	}
	d.Run("push", img)
	d.Run("logout", w.Addr())
	d.Run("rmi", img)

	annPW := forgeSignIn(t, forge, w.URL()+"/auth/gitlab/login", "ann")
	if out, err := d.TryRun(strings.NewReader(annPW), "login", "-u", "ann", "--password-stdin", w.Addr()); err != nil {
		t.Fatalf("docker login as the GitLab user: %v\n%s", err, out)
	}
	d.Run("pull", img)
	out, err := d.TryRun(nil, "push", img)
	if err == nil || !strings.Contains(out, "denied") {
		t.Fatalf("ann, outside acme/pushers, pushed or failed otherwise: %v\n%s", err, out)
	}
	if log := w.Log(); strings.Contains(log, octoPW) || strings.Contains(log, annPW) || strings.Contains(log, forge.ClientSecret) {
		t.Error("a password or the client secret reached wharf's log")
	}
}

// TestWharfAuthSignIns runs `wharf auth` with docker_auth's github_auth as
// docker_auth documents it (level_token_db, revalidate_after, the
// /github_auth callback registered with the GitHub app): a user signs in at
// /github_auth and gets tokens with the password, the ACL matching the
// teams label as in docker_auth.
func TestWharfAuthSignIns(t *testing.T) {
	harness.SkipIfShort(t)
	forge := testserver.StartForge(t,
		&testserver.ForgeUser{Login: "octocat", Orgs: []string{"acme"}, Teams: map[string][]string{"acme": {"infrastructure"}}},
		&testserver.ForgeUser{Login: "hubot", Orgs: []string{"acme"}})
	_, _, keyPath, certPath := signingPair(t, token.KeyECDSAP256, "auth-server")
	authCfg := filepath.Join(t.TempDir(), "auth_config.yml")
	dockerAuth := fmt.Sprintf(`server:
  addr: ":5001"
token:
  issuer: "Auth Service"
  expiration: 900
  certificate: %q
  key: %q
github_auth:
  organization: "acme"
  client_id: %q
  client_secret_file: %q
  level_token_db:
    path: /data/tokens.db
    token_hash_cost: 5
  http_timeout: "10s"
  revalidate_after: "1h"
  github_web_uri: %q
  github_api_uri: "%s/api"
  registry_url: localhost:5000
acl:
  - match: {account: "/.+/", labels: {teams: infrastructure}}
    actions: ["pull", "push"]
  - match: {account: "/.+/"}
    actions: ["pull"]
`, certPath, keyPath, forge.ClientID, forge.SecretFile, forge.URL, forge.URL)
	if err := os.WriteFile(authCfg, []byte(dockerAuth), 0o600); err != nil {
		t.Fatal(err)
	}
	auth := harness.StartWharfCommand(t, nil, "auth", "--config", authCfg, "--addr", "127.0.0.1:0", "--data", t.TempDir())
	t.Cleanup(httpClient.CloseIdleConnections)
	forge.SetCallback(auth.URL() + "/github_auth")

	tokenFor := func(user, password string) (int, []string) {
		t.Helper()
		return tokenActions(t, auth.URL(), user, password, "acme/app")
	}
	octoPW := forgeSignIn(t, forge, auth.URL()+"/github_auth", "octocat")
	hubotPW := forgeSignIn(t, forge, auth.URL()+"/github_auth", "hubot")
	if status, actions := tokenFor("octocat", octoPW); status != http.StatusOK || !slices.Equal(actions, []string{"pull", "push"}) {
		t.Errorf("octocat (team infrastructure): %d %v; want pull and push", status, actions)
	}
	if status, actions := tokenFor("hubot", hubotPW); status != http.StatusOK || !slices.Equal(actions, []string{"pull"}) {
		t.Errorf("hubot: %d %v; want pull", status, actions)
	}
	for _, c := range [][2]string{{"octocat", hubotPW}, {"octocat", "wrong"}, {"hubot", ""}, {"nobody", octoPW}} {
		if status, _ := tokenFor(c[0], c[1]); status != http.StatusUnauthorized {
			t.Errorf("user %q with another's or a wrong password: %d; want 401", c[0], status)
		}
	}
	if !strings.Contains(auth.Log(), "level_token_db accepted") {
		t.Error("the log does not say what became of level_token_db")
	}
}
