package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"wharf/e2e/harness"
	"wharf/internal/testserver"
)

// Users of the OpenID provider: carol is in the pushers group, dave in
// none.
var (
	carol = testserver.OIDCUser{Username: "carol", Password: "carol:pässword", Email: "carol@example.com", Groups: []string{"pushers", "dev"}}
	dave  = testserver.OIDCUser{Username: "dave", Password: "dave-pw", Email: "dave@example.com"}
)

var registryPasswordRE = regexp.MustCompile(`<pre id="password">(wharf_[a-z]+_[A-Za-z0-9_-]{43})</pre>`)

// browserSignIn signs in at wharf's page with the provider's login form,
// as a person with a browser would, and returns the registry password the
// result page shows.
func browserSignIn(t *testing.T, op *testserver.OIDCProvider, start string, u testserver.OIDCUser) string {
	t.Helper()
	status, body := op.SignIn(t, testserver.Browser(t), start, u.Username, u.Password)
	m := registryPasswordRE.FindStringSubmatch(body)
	if status != 200 || m == nil {
		t.Fatalf("sign-in of %s at %s: status %d, no password:\n%s", u.Username, start, status, body)
	}
	return m[1]
}

// TestDockerOIDC signs users in with a browser flow at a real OpenID
// provider, then logs the real docker client in with the registry password
// wharf showed: the pushers group (from the groups claim) may push,
// everyone else pull. A CI system logs in with an ID token as the
// password.
func TestDockerOIDC(t *testing.T) {
	harness.SkipIfShort(t)
	rootfs := busyboxRootfs(t)
	op := testserver.StartOIDCProvider(t, carol, dave)
	body := fmt.Sprintf(`auth: token
oidc_auth:
  issuer: %q
  client_id: %q
  client_secret_file: %q
  scopes: [openid, email, profile, offline_access]
  user_claim: email
  labels: {groups: groups}
  id_tokens:
    audiences: [%q]
google_auth:                 # Google's flow, against the same provider
  issuer: %q
  client_id: %q
  client_secret_file: %q
acl:
  - match: {account: "/.+/", labels: {groups: pushers}}
    actions: ["*"]
    comment: the pushers group may do anything
  - match: {account: "/.+/"}
    actions: [pull]
`, op.Issuer, op.ClientID, op.SecretFile, op.CIClientID, op.Issuer, op.ClientID, op.SecretFile)
	cfg := writeConfig(t, t.TempDir(), body)
	w := harness.StartWharf(t, "--config", cfg, "--auth", "token")
	t.Cleanup(httpClient.CloseIdleConnections)
	d := harness.StartDockerd(t)
	img := w.Addr() + "/team/app:1"
	d.Run("import", rootfs, img)

	login := func(user, password string) {
		t.Helper()
		if out, err := d.TryRun(strings.NewReader(password), "login", "-u", user, "--password-stdin", w.Addr()); err != nil {
			t.Fatalf("docker login as %s: %v\n%s", user, err, out)
		}
	}

	carolPW := browserSignIn(t, op, w.URL()+"/auth/oidc/login", carol)
	if out, err := d.TryRun(strings.NewReader(carolPW+"x"), "login", "-u", carol.Email, "--password-stdin", w.Addr()); err == nil {
		t.Fatalf("docker login with a wrong registry password succeeded:\n%s", out)
	}
	login(carol.Email, carolPW)
	d.Run("push", img)
	d.Run("logout", w.Addr())
	d.Run("rmi", img)

	davePW := browserSignIn(t, op, w.URL()+"/auth/oidc/login", dave)
	login(dave.Email, davePW)
	d.Run("pull", img)
	d.Run("tag", img, w.Addr()+"/team/app:2")
	out, err := d.TryRun(nil, "push", w.Addr()+"/team/app:2")
	if err == nil {
		t.Fatalf("dave, outside the pushers group, pushed:\n%s", out)
	}
	if !strings.Contains(out, "denied: requested access to the resource is denied") {
		t.Errorf("push by dave: want docker's denial, got:\n%s", out)
	}
	d.Run("logout", w.Addr())

	// CI: an ID token of the provider, for the audience ci, is the password.
	idToken := op.IDToken(t, carol.Username, carol.Password)
	login(carol.Email, idToken)
	d.Run("push", w.Addr()+"/team/app:2")
	d.Run("logout", w.Addr())
	if out, err := d.TryRun(strings.NewReader(idToken), "login", "-u", dave.Email, "--password-stdin", w.Addr()); err == nil {
		t.Fatalf("carol's ID token logged in as dave:\n%s", out)
	}

	// The Google flow: accounts named by their e-mail address.
	googlePW := browserSignIn(t, op, w.URL()+"/auth/google/login", dave)
	login(dave.Email, googlePW)
	d.Run("rmi", img)
	d.Run("pull", img)
	d.Run("logout", w.Addr())
	login(dave.Email, davePW) // the OpenID Connect password still works
	d.Run("logout", w.Addr())

	log := w.Log()
	for _, secret := range []string{carolPW, davePW, googlePW, idToken, carol.Password, op.ClientSecret} {
		if strings.Contains(log, secret) {
			t.Errorf("a password, token or the client secret reached wharf's log")
		}
	}
	if !strings.Contains(log, "signed in; registry password issued") {
		t.Errorf("the sign-ins were not logged")
	}
}

// TestUIOIDCSignIn: the web interface's sign-in page offers the OpenID
// provider; signing in there through the real provider opens a session of
// the interface and issues no registry password, so the one docker login
// took from an earlier sign-in keeps working.
func TestUIOIDCSignIn(t *testing.T) {
	harness.SkipIfShort(t)
	op := testserver.StartOIDCProvider(t, carol, dave)
	body := fmt.Sprintf(`auth: token
oidc_auth:
  issuer: %q
  client_id: %q
  client_secret_file: %q
  scopes: [openid, email, profile]
  user_claim: email
acl:
  - match: {account: "/.+/"}
    actions: [pull]
`, op.Issuer, op.ClientID, op.SecretFile)
	w := harness.StartWharf(t, "--config", writeConfig(t, t.TempDir(), body), "--auth", "token")
	t.Cleanup(httpClient.CloseIdleConnections)

	password := browserSignIn(t, op, w.URL()+"/auth/oidc/login", carol)
	if status, out := tokenStatus(t, w, carol.Email, password, "repository:team/app:pull"); status != 200 {
		t.Fatalf("token with the registry password: %d %s", status, out)
	}

	// In a real browser: the interface's sign-in page, its button for the
	// provider, the provider's own login form, and back.
	ctx := startChromium(t)
	browse(t, ctx, "sign in with the OpenID provider",
		chromedp.Navigate(w.URL()+"/ui/login"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/auth/oidc/login?next=%2Fui%2F&ui=1"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/auth/oidc/login?next=%2Fui%2F&ui=1"]`)),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), carol.Username),
		chromedp.SendKeys(chromedp.CSS("#password"), carol.Password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#whoami")),
	)
	if who := read(t, ctx, "who", chromedp.Text(chromedp.CSS("#whoami"))); who != carol.Email {
		t.Fatalf("signed in to the web interface as %q; want %s", who, carol.Email)
	}
	if page := read(t, ctx, "the page", chromedp.Text(chromedp.CSS("body"))); registryPasswordRE.MatchString(page) || strings.Contains(page, "wharf_oidc_") {
		t.Errorf("a sign-in to the web interface showed a registry password:\n%s", page)
	}
	if status, out := tokenStatus(t, w, carol.Email, password, "repository:team/app:pull"); status != 200 {
		t.Fatalf("the registry password after a sign-in to the web interface: %d %s", status, out)
	}
	cli := wharfCLI{t: t, bin: harness.WharfBinary(t), data: w.DataDir()}
	if out := cli.run("", "session", "ls", "--user", carol.Email); !strings.Contains(out, "wharf-ui") {
		t.Errorf("wharf session ls does not list the web session:\n%s", out)
	}
}
