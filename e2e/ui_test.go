package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"wharf/e2e/harness"
	"wharf/internal/testserver"
)

// startChromium starts one headless Debian Chromium for a test, with a
// profile of its own and its output in a log file; it is killed when the
// test ends. The returned context drives its first tab.
func startChromium(t *testing.T) context.Context {
	t.Helper()
	exe := harness.RequireTool(t, "chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")
	logPath := filepath.Join(t.TempDir(), "chromium.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.DisableGPU,
		chromedp.CombinedOutput(logFile),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // kills the browser and waits for it
		_ = logFile.Close()
		if t.Failed() {
			t.Logf("chromium log (%s):\n%s", logPath, testserver.Tail(logPath, 40))
		}
	})
	// Starts the browser now, so that a missing library fails here.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// browse runs steps in the browser, bounded by a timeout.
func browse(t *testing.T, ctx context.Context, step string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s: %v (at %s)", step, err, loc)
	}
}

// read runs one action that returns a value, bounded by a timeout.
func read[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("read %s: %v", what, err)
	}
	return v
}

// openStatus navigates to u and returns the HTTP status of the page.
func openStatus(t *testing.T, ctx context.Context, u string) int {
	t.Helper()
	return int(read(t, ctx, u, chromedp.NavigateResponse(u)).Status)
}

func signInUI(t *testing.T, ctx context.Context, base, user, password string) {
	t.Helper()
	browse(t, ctx, "sign in as "+user,
		chromedp.Navigate(base+"/ui/"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("#whoami")),
	)
}

// TestUIBrowser signs in to the web interface in a real headless Chromium
// with database users, and browses to an image real docker pushed: its
// owner sees it, its layers and config; a user without pull rights sees
// nothing and gets 404 at its URL; a form posted with the session cookie
// but without the CSRF token is refused; signing out ends the session.
func TestUIBrowser(t *testing.T) {
	harness.SkipIfShort(t)
	rootfs := busyboxRootfs(t)
	d := harness.StartDockerd(t)
	w := harness.StartWharf(t, "--auth", "token")
	t.Cleanup(httpClient.CloseIdleConnections)
	cli := wharfCLI{t: t, bin: harness.WharfBinary(t), data: w.DataDir()}
	const alicePassword, bobPassword, rootPassword = "alice's long password", "bob's long password", "root's long password"
	cli.run(alicePassword+"\n", "user", "add", "alice", "--password-stdin")
	cli.run(rootPassword+"\n", "user", "add", "root", "--password-stdin")
	cli.run("", "acl", "add", "--account", "root", "--type", "admin", "--name", "api", "--actions", "*")
	cli.run(bobPassword+"\n", "user", "add", "bob", "--password-stdin")
	cli.run("", "acl", "add", "--account", "alice", "--name", "team/*", "--actions", "pull,push,delete")
	cli.run("", "acl", "add", "--account", "bob", "--name", "other/*", "--actions", "pull")

	image := w.Addr() + "/team/app:1"
	d.Run("import", "--change", `CMD ["/bin/sh"]`, "--change", "ENV GREETING=hello-from-e2e", rootfs, image)
	d.Run("login", "-u", "alice", "--password", alicePassword, w.Addr())
	d.Run("push", image)
	d.Run("tag", image, w.Addr()+"/team/app:old")
	d.Run("push", w.Addr()+"/team/app:old")
	d.Run("logout", w.Addr())
	// A signature attached by oras, as cosign attaches one: a referrer of
	// the image with the signature's artifact type.
	sig := filepath.Join(t.TempDir(), "signature.json")
	if err := os.WriteFile(sig, []byte(`{"critical":{"identity":{"docker-reference":"team/app"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	oras := harness.RequireTool(t, "oras", filepath.Join(harness.RepoRoot(t), "bin", "oras"))
	orasCmd := exec.Command(oras, "attach", "--plain-http", "--username", "alice", "--password-stdin",
		"--artifact-type", signatureType, image, filepath.Base(sig)+":application/vnd.dev.cosign.simplesigning.v1+json")
	orasCmd.Dir, orasCmd.Stdin, orasCmd.Env = filepath.Dir(sig), strings.NewReader(alicePassword), append(os.Environ(), "HOME="+t.TempDir())
	if out, err := orasCmd.CombinedOutput(); err != nil {
		t.Fatalf("oras attach: %v\n%s", err, out)
	}

	// / leads to the interface.
	noFollow := &http.Client{Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(w.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/ui/" {
		t.Errorf("GET /: %d to %q; want 302 to /ui/", resp.StatusCode, resp.Header.Get("Location"))
	}

	ctx := startChromium(t)
	audit := newPageAuditor(t)
	audit.proveItCatches(ctx)
	start := time.Now()
	browse(t, ctx, "the sign-in page", chromedp.Navigate(w.URL()+"/ui/login"), chromedp.WaitVisible(chromedp.CSS("#username")))
	audit.check(ctx, "sign-in")
	keyboardWalk(t, ctx, w.URL(), "alice", alicePassword)
	signInUI(t, ctx, w.URL(), "alice", alicePassword)
	audit.check(ctx, "repositories")
	repos := read(t, ctx, "alice's repositories", chromedp.Text(chromedp.CSS("main")))
	browse(t, ctx, "open the image alice pushed",
		chromedp.Click(chromedp.CSS("a.repo")),
		chromedp.WaitVisible(chromedp.CSS("a.tag")),
	)
	audit.check(ctx, "tags")
	browse(t, ctx, "open tag 1",
		chromedp.Click(chromedp.Search(`//a[contains(@class, "tag") and normalize-space(.)="1"]`)),
		chromedp.WaitVisible(chromedp.CSS("#layers")),
	)
	audit.check(ctx, "manifest")
	referrers := read(t, ctx, "referrers", chromedp.Text(chromedp.CSS("main")))
	if !strings.Contains(referrers, signatureType) {
		t.Errorf("the manifest page does not show the signature oras attached (%s):\n%s", signatureType, referrers)
	}
	layers := read(t, ctx, "layers", chromedp.Text(chromedp.CSS("#layers")))
	config := read(t, ctx, "config", chromedp.Text(chromedp.CSS("#config")))
	env := read(t, ctx, "env", chromedp.Text(chromedp.CSS("#env")))
	if !strings.Contains(repos, "team/app") {
		t.Errorf("alice's repository list lacks team/app:\n%s", repos)
	}
	if !strings.Contains(layers, "application/vnd.") || !strings.Contains(layers, "tar") {
		t.Errorf("the layers table shows no layer:\n%s", layers)
	}
	if !strings.Contains(config, "/bin/sh") || !strings.Contains(env, "GREETING=hello-from-e2e") {
		t.Errorf("the config shows neither the image's CMD nor its ENV:\nconfig: %s\nenv: %s", config, env)
	}
	// alice may delete in team/*: tag old goes, after a confirmation.
	browse(t, ctx, "ask to delete tag old",
		chromedp.Navigate(w.URL()+"/ui/repos/team/app"),
		chromedp.WaitVisible(chromedp.CSS("a.tag")),
		chromedp.Click(chromedp.Search(`//tr[.//a[contains(@class, "tag") and normalize-space(.)="old"]]//a[contains(@class, "delete")]`)),
		chromedp.WaitVisible(chromedp.CSS("#confirm")),
	)
	audit.check(ctx, "delete")
	browse(t, ctx, "confirm the delete", chromedp.Click(chromedp.CSS("#confirm")), chromedp.WaitNotPresent(chromedp.CSS("#confirm")),
		chromedp.Navigate(w.URL()+"/ui/repos/team/app"), chromedp.WaitVisible(chromedp.CSS("a.tag")))
	tags := read(t, ctx, "tags after the delete", chromedp.Text(chromedp.CSS("main")))
	if !strings.Contains(tags, "1 tags.") || regexp.MustCompile(`(?m)^old\t`).MatchString(tags) {
		t.Errorf("after deleting tag old the tags page says:\n%s", tags)
	}
	if status, _ := tokenStatus(t, w, "alice", alicePassword, "repository:team/app:pull"); status != http.StatusOK {
		t.Fatalf("token for alice: %d", status)
	}
	if code := headManifest(t, w, "alice", alicePassword, "team/app", "old"); code != http.StatusNotFound {
		t.Errorf("HEAD team/app:old after the delete on the page: %d; want 404", code)
	}
	browse(t, ctx, "the personal page", chromedp.Navigate(w.URL()+"/ui/me"), chromedp.WaitVisible(chromedp.CSS("#whoami")))
	audit.check(ctx, "personal")
	browse(t, ctx, "sign out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#signin")))
	browse(t, ctx, "the repository after sign-out", chromedp.Navigate(w.URL()+"/ui/repos/team/app"),
		chromedp.WaitVisible(chromedp.CSS("#signin")))
	loc := read(t, ctx, "location", chromedp.Location())
	if !strings.Contains(loc, "/ui/login") {
		t.Errorf("after sign-out, the repository page is at %s; want the sign-in page", loc)
	}

	// bob may pull other/*, not team/*: he sees nothing, and the URL
	// answers 404 as for a repository that does not exist.
	signInUI(t, ctx, w.URL(), "bob", bobPassword)
	bobRepos := read(t, ctx, "bob's repositories", chromedp.Text(chromedp.CSS("main")))
	if strings.Contains(bobRepos, "team/app") {
		t.Errorf("bob sees a repository he may not pull:\n%s", bobRepos)
	}
	for _, path := range []string{"/ui/repos/team/app", "/ui/manifests/team/app?ref=1"} {
		if status := openStatus(t, ctx, w.URL()+path); status != http.StatusNotFound {
			t.Errorf("bob opens %s: %d; want 404", path, status)
		}
	}

	// The session cookie alone, which a form on another site would carry,
	// does not sign out: the CSRF token is missing.
	var cookies []*network.Cookie
	browse(t, ctx, "read the cookies", chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		res, err := cdp.Call(ctx, tab, network.GetCookies, network.GetCookiesParams{URLs: []string{w.URL() + "/ui/"}})
		cookies = res.Cookies
		return err
	}))
	req, err := http.NewRequest(http.MethodPost, w.URL()+"/ui/logout", strings.NewReader(url.Values{"next": {"/ui/"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err = noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-out without the CSRF token: %d; want 403", resp.StatusCode)
	}
	browse(t, ctx, "still signed in", chromedp.Navigate(w.URL()+"/ui/"), chromedp.WaitVisible(chromedp.CSS("#whoami")))
	who := read(t, ctx, "who", chromedp.Text(chromedp.CSS("#whoami")))
	if who != "bob" {
		t.Errorf("after a refused sign-out the page is for %q; want bob", who)
	}

	// The session is a login session: `wharf session` lists and ends it.
	if out := cli.run("", "session", "ls", "--user", "bob"); !strings.Contains(out, "wharf-ui") {
		t.Errorf("wharf session ls does not list bob's web session:\n%s", out)
	}
	cli.run("", "session", "revoke", "--user", "bob")
	browse(t, ctx, "the page after the session was revoked", chromedp.Navigate(w.URL()+"/ui/"), chromedp.WaitVisible(chromedp.CSS("#signin")))

	adminStart := time.Now()
	administer(t, ctx, w, d, cli, rootPassword, audit)
	keyStart := time.Now()
	keyboardAdminister(t, ctx, w, cli, audit)
	t.Logf("browser pages took %s, the administration's %s (with the keyboard alone %s); %d pages audited by axe-core, screenshots in %s",
		time.Since(start).Round(time.Millisecond), time.Since(adminStart).Round(time.Millisecond), time.Since(keyStart).Round(time.Millisecond),
		audit.pages, audit.dir)
}

// focusOn is a script that is true when the focused element matches the
// CSS selector sel.
func focusOn(sel string) string {
	return `document.activeElement !== null && document.activeElement.matches(` + strconv.Quote(sel) + `)`
}

// focused reports whether the focused element matches sel.
func focused(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	return read(t, ctx, "focus", chromedp.Evaluate[bool](focusOn(sel)))
}

// mustFocus fails unless the focus lands on an element matching sel
// within 5 seconds (autofocus moves it when the page has rendered, which
// may be just after the page's elements are visible).
func mustFocus(t *testing.T, ctx context.Context, sel, after string) {
	t.Helper()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(pctx, chromedp.Poll[bool](focusOn(sel), chromedp.WithPollingTimeout(5*time.Second))); err == nil {
		return
	}
	what := read(t, ctx, "the focused element", chromedp.Evaluate[string](`document.activeElement ? document.activeElement.outerHTML.slice(0, 200) : "nothing"`))
	t.Fatalf("after %s the focus is on %s; want %s", after, what, sel)
}

// tabType presses Tab until the focused element matches sel, and types
// text there (Tab selects a field's text: the text replaces it).
func tabType(t *testing.T, ctx context.Context, sel, text string) {
	t.Helper()
	tabTo(t, ctx, sel)
	browse(t, ctx, "type in "+sel, chromedp.KeyEvent(text))
}

// shiftTabTo presses Shift-Tab until the focused element matches sel, and
// fails after 60 presses.
func shiftTabTo(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	for range 60 {
		browse(t, ctx, "Shift-Tab", chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
		if focused(t, ctx, sel) {
			return
		}
	}
	t.Fatalf("60 presses of Shift-Tab never reached %s", sel)
}

// keyboardAdminister runs the administration's main flows with the
// keyboard alone — Tab, Shift-Tab, typing, Enter and Space, no click —
// as root (signed in by administer): adds a robot account, adds a rule
// for it, asks the checker, creates an access token and revokes it,
// removes the robot after the confirmation page, adds a team and a member,
// and revokes a session. After
// each change the focus must be on the sentence that says what was done
// (or on the answer, or on the new token), and the change must have
// happened.
func keyboardAdminister(t *testing.T, ctx context.Context, w *harness.Wharf, cli wharfCLI, audit *pageAuditor) {
	t.Helper()
	browse(t, ctx, "the repositories", chromedp.Navigate(w.URL()+"/ui/"), chromedp.WaitVisible(chromedp.CSS("#whoami")))
	tabTo(t, ctx, "#nav-admin")
	browse(t, ctx, "open the administration", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#new-name")))
	tabType(t, ctx, "#new-name", "kbot")
	tabType(t, ctx, "#new-robot", " ") // Space ticks the checkbox
	if !read(t, ctx, "robot ticked", chromedp.Evaluate[bool](`document.querySelector("#new-robot").checked`)) {
		t.Fatal("Space on the robot checkbox did not tick it")
	}
	tabTo(t, ctx, "#add-user")
	browse(t, ctx, "add the robot with Enter", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#done")), chromedp.WaitVisible(chromedp.CSS("#user-kbot")))
	mustFocus(t, ctx, "#done", "adding a user")
	audit.check(ctx, "admin user added")
	if out := cli.run("", "user", "ls"); !regexp.MustCompile(`(?m)^kbot\s.*robot`).MatchString(out) {
		t.Errorf("wharf user ls does not list the robot added with the keyboard:\n%s", out)
	}

	tabTo(t, ctx, `nav.tabs a[href="/ui/admin/rules"]`)
	browse(t, ctx, "open the rules", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#rule-account")))
	tabType(t, ctx, "#rule-account", "kbot")
	tabType(t, ctx, "#rule-name", "kb/*")
	// Tab selects a field's text, so typing replaces the default "pull".
	tabTo(t, ctx, "#rule-actions")
	browse(t, ctx, "type the rule's actions and press Enter", chromedp.KeyEvent("pull,push"), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#done")))
	mustFocus(t, ctx, "#done", "adding a rule")
	rules := read(t, ctx, "the rules", chromedp.Text(chromedp.CSS("#rules")))
	if !regexp.MustCompile(`account: kbot, type: repository, name: "kb/\*"}\s+\[pull, push\]`).MatchString(rules) {
		t.Errorf("the rule added with the keyboard is not listed:\n%s", rules)
	}
	// The checker: the scope first, then Shift-Tab back to the account.
	tabType(t, ctx, "#check-scope", "repository:kb/app:pull,delete")
	shiftTabTo(t, ctx, "#check-account")
	browse(t, ctx, "type the account and press Enter", chromedp.KeyEvent("kbot"), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#explanation")))
	mustFocus(t, ctx, "#explanation", "asking the checker")
	if granted, denied := read(t, ctx, "granted", chromedp.Text(chromedp.CSS("#granted"))), read(t, ctx, "denied", chromedp.Text(chromedp.CSS("#denied"))); granted != "pull" || denied != "delete" {
		t.Errorf("the checker asked with the keyboard says granted %q, denied %q; want pull and delete", granted, denied)
	}

	shiftTabTo(t, ctx, `nav.tabs a[href="/ui/admin/tokens"]`)
	browse(t, ctx, "open the tokens", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#token-user")))
	tabType(t, ctx, "#token-user", "kbot")
	tabTo(t, ctx, "#token-scopes")
	browse(t, ctx, "type the scopes and press Enter", chromedp.KeyEvent("repository:kb/*:pull"), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#created-token")))
	mustFocus(t, ctx, "#created-token", "creating a token")
	secret := read(t, ctx, "the new token", chromedp.Value(chromedp.CSS("#created-token")))
	id := read(t, ctx, "the new token's id", chromedp.Text(chromedp.CSS("#created-id")))
	if status, body := tokenStatus(t, w, "kbot", secret, "repository:kb/app:pull"); status != http.StatusOK {
		t.Fatalf("the token created with the keyboard gets no registry token: %d %s", status, body)
	}
	tabTo(t, ctx, "#back")
	browse(t, ctx, "back to the tokens", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#token-"+id)))
	tabTo(t, ctx, "#token-"+id+" button")
	browse(t, ctx, "revoke it with Space", chromedp.KeyEvent(" "), chromedp.WaitVisible(chromedp.CSS("#done")),
		chromedp.WaitNotPresent(chromedp.CSS("#token-"+id)))
	mustFocus(t, ctx, "#done", "revoking a token")
	audit.check(ctx, "admin token revoked")
	if status, _ := tokenStatus(t, w, "kbot", secret, "repository:kb/app:pull"); status != http.StatusUnauthorized {
		t.Errorf("the token revoked with the keyboard still logs in: %d", status)
	}

	// Remove the robot: its Remove link, then the confirmation page,
	// whose button has the focus, so Enter confirms.
	shiftTabTo(t, ctx, `nav.tabs a[href="/ui/admin/users"]`)
	browse(t, ctx, "open the users", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#user-kbot")))
	tabTo(t, ctx, `#user-kbot a.remove`)
	browse(t, ctx, "ask to remove the robot", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#confirm-remove")))
	mustFocus(t, ctx, "#confirm-remove", "asking to remove a user")
	audit.check(ctx, "admin user remove")
	browse(t, ctx, "confirm with Enter", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#done")),
		chromedp.WaitNotPresent(chromedp.CSS("#user-kbot")))
	mustFocus(t, ctx, "#done", "removing a user")
	if out := cli.run("", "user", "ls"); regexp.MustCompile(`(?m)^kbot\s`).MatchString(out) {
		t.Errorf("wharf user ls lists the robot removed with the keyboard:\n%s", out)
	}

	// A team with a member, and one of alice's sessions (her docker
	// login) revoked.
	tabTo(t, ctx, `nav.tabs a[href="/ui/admin/teams"]`)
	browse(t, ctx, "open the teams", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#team-name")))
	tabType(t, ctx, "#team-name", "kbteam")
	browse(t, ctx, "add the team with Enter", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#done")),
		chromedp.WaitVisible(chromedp.CSS("#team-kbteam")))
	mustFocus(t, ctx, "#done", "adding a team")
	tabType(t, ctx, "#member-kbteam", "alice")
	// The page before had its #done too: wait for the new member's button.
	browse(t, ctx, "add alice with Enter", chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#team-kbteam form[action="/ui/admin/teams/kbteam/members/alice/remove"]`)), chromedp.WaitVisible(chromedp.CSS("#done")))
	mustFocus(t, ctx, "#done", "adding a member")
	if members := read(t, ctx, "kbteam", chromedp.Text(chromedp.CSS("#team-kbteam"))); !strings.Contains(members, "alice") {
		t.Errorf("the member added with the keyboard is not listed:\n%s", members)
	}
	tabTo(t, ctx, `nav.tabs a[href="/ui/admin/sessions"]`)
	browse(t, ctx, "open the sessions", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#sessions")))
	session := read(t, ctx, "one of alice's sessions", chromedp.Evaluate[string](
		`[...document.querySelectorAll("#sessions tbody tr")].filter(r => r.cells[1] && r.cells[1].textContent === "alice").map(r => r.id.slice("session-".length))[0] || ""`))
	if session == "" {
		t.Fatal("alice's docker login is not among the sessions")
	}
	tabTo(t, ctx, "#session-"+session+" button")
	browse(t, ctx, "revoke it with Enter", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#done")),
		chromedp.WaitNotPresent(chromedp.CSS("#session-"+session)))
	mustFocus(t, ctx, "#done", "revoking a session")
	if out := cli.run("", "session", "ls", "--user", "alice"); strings.Contains(out, session) {
		t.Errorf("wharf session ls still lists the session revoked with the keyboard:\n%s", out)
	}
}

// signatureType is the artifact type of cosign's signatures.
const signatureType = "application/vnd.dev.cosign.artifact.sig.v1+json"

// headManifest asks for repo:ref with a token of user's and returns the
// status.
func headManifest(t *testing.T, w *harness.Wharf, user, password, repo, ref string) int {
	t.Helper()
	_, body := tokenStatus(t, w, user, password, "repository:"+repo+":pull")
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(body), &tok); err != nil || tok.Token == "" {
		t.Fatalf("token for %s: %v %s", user, err, body)
	}
	req, err := http.NewRequest(http.MethodHead, w.URL()+"/v2/"+repo+"/manifests/"+ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// administer signs in as root, who administers, and uses the
// administration pages as a person would: adds a robot account, adds a
// rule for it and asks the checker who can do what, creates an access token
// (shown once; docker login takes it) and revokes it (docker login no
// longer does).
func administer(t *testing.T, ctx context.Context, w *harness.Wharf, d *harness.Dockerd, cli wharfCLI, rootPassword string, audit *pageAuditor) {
	t.Helper()
	signInUI(t, ctx, w.URL(), "root", rootPassword)
	for _, page := range []string{"users", "teams", "sessions", "audit", "usage"} {
		browse(t, ctx, "the "+page+" page", chromedp.Navigate(w.URL()+"/ui/admin/"+page), chromedp.WaitVisible(chromedp.CSS("#whoami")))
		audit.check(ctx, "admin "+page)
	}
	// erin is a robot account: no password, it logs in with the access
	// token created for it below.
	browse(t, ctx, "add a robot account",
		chromedp.Click(chromedp.CSS("#nav-admin")),
		chromedp.WaitVisible(chromedp.CSS("#new-name")),
		chromedp.SendKeys(chromedp.CSS("#new-name"), "erin"),
		chromedp.Click(chromedp.CSS("#new-robot")),
		chromedp.Click(chromedp.CSS("#add-user")),
		chromedp.WaitVisible(chromedp.CSS("#user-erin")),
	)
	if out := cli.run("", "user", "ls"); !regexp.MustCompile(`(?m)^erin\s.*robot`).MatchString(out) {
		t.Errorf("wharf user ls does not list the robot account added on the page:\n%s", out)
	}
	browse(t, ctx, "add a rule and check it",
		chromedp.Navigate(w.URL()+"/ui/admin/rules"),
		chromedp.WaitVisible(chromedp.CSS("#rule-account")),
		chromedp.SetValue(chromedp.CSS("#rule-account"), "erin"),
		chromedp.SetValue(chromedp.CSS("#rule-name"), "lab/*"),
		chromedp.SetValue(chromedp.CSS("#rule-actions"), "pull,push"),
		chromedp.SetValue(chromedp.CSS("#rule-comment"), "erin's lab"),
		chromedp.Click(chromedp.CSS("#add-rule")),
		// The rules page again, with the new rule.
		chromedp.WaitVisible(chromedp.Search(`//table[@id="rules"]//td[contains(., "erin's lab")]`)),
		chromedp.SetValue(chromedp.CSS("#check-account"), "erin"),
		chromedp.SetValue(chromedp.CSS("#check-scope"), "repository:lab/app:pull,push,delete"),
		chromedp.Click(chromedp.CSS("#check")),
		chromedp.WaitVisible(chromedp.CSS("#explanation")),
	)
	audit.check(ctx, "admin rules")
	decided := read(t, ctx, "the deciding rule", chromedp.Text(chromedp.CSS("#decided-by")))
	granted := read(t, ctx, "granted", chromedp.Text(chromedp.CSS("#granted")))
	denied := read(t, ctx, "denied", chromedp.Text(chromedp.CSS("#denied")))
	if !strings.Contains(decided, "database rule") || !strings.Contains(decided, `"erin's lab"`) || granted != "pull, push" || denied != "delete" {
		t.Errorf("the checker says: decided by %q, granted %q, denied %q; want the new rule, pull, push, and delete denied", decided, granted, denied)
	}
	browse(t, ctx, "create an access token",
		chromedp.Navigate(w.URL()+"/ui/admin/tokens"),
		chromedp.WaitVisible(chromedp.CSS("#token-user")),
		chromedp.SendKeys(chromedp.CSS("#token-user"), "erin"),
		chromedp.SetValue(chromedp.CSS("#token-scopes"), "repository:lab/*:pull"),
		chromedp.SendKeys(chromedp.CSS("#token-description"), "from the browser"),
		chromedp.Click(chromedp.CSS("#create-token")),
		chromedp.WaitVisible(chromedp.CSS("#created-token")),
	)
	audit.check(ctx, "admin token created")
	secret := read(t, ctx, "the new token", chromedp.Value(chromedp.CSS("#created-token")))
	id := read(t, ctx, "the new token's id", chromedp.Text(chromedp.CSS("#created-id")))
	if out, err := d.TryRun(nil, "login", "-u", "erin", "--password", secret, w.Addr()); err != nil {
		t.Fatalf("docker login with the token created on the page: %v\n%s", err, out)
	}
	d.Run("logout", w.Addr())
	browse(t, ctx, "revoke the token",
		chromedp.Click(chromedp.CSS("#back")),
		chromedp.WaitVisible(chromedp.CSS("#token-"+id)),
		chromedp.Click(chromedp.CSS("#token-"+id+" button")),
		// The page after the revoke lists the tokens without it.
		chromedp.WaitNotPresent(chromedp.CSS("#token-"+id)),
		chromedp.WaitVisible(chromedp.CSS("#tokens")),
	)
	if out, err := d.TryRun(nil, "login", "-u", "erin", "--password", secret, w.Addr()); err == nil {
		t.Errorf("docker login with a revoked token succeeded:\n%s", out)
	}
}

// TestUIOff: with ui: false, wharf serve serves neither /ui/ nor the
// redirect of /.
func TestUIOff(t *testing.T) {
	harness.SkipIfShort(t)
	cfg := filepath.Join(t.TempDir(), "wharf.yml")
	if err := os.WriteFile(cfg, []byte("ui: false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := harness.StartWharf(t, "--auth", "token", "--config", cfg)
	t.Cleanup(httpClient.CloseIdleConnections)
	for _, path := range []string{"/", "/ui/", "/ui/login"} {
		resp, err := httpClient.Get(w.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s with ui: false: %d; want 404", path, resp.StatusCode)
		}
	}
}

// checkUIBehindProxy signs in to the web interface at base (a proxy that
// terminates TLS) with a plain HTTP client, and checks what the proxy must
// not change: Secure cookies, and pull commands that name the public host.
func checkUIBehindProxy(t *testing.T, client *http.Client, base, user, password, repo string) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := *client
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp, string(b)
	}
	_, login := get("/ui/login")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(login)
	if m == nil {
		t.Fatalf("no sign-in form at %s/ui/login:\n%s", base, login)
	}
	resp, err := c.PostForm(base+"/ui/login", url.Values{"csrf": {m[1]}, "username": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "wharf_ui_session" {
			session = ck
		}
	}
	if resp.StatusCode != http.StatusSeeOther || session == nil || !session.Secure || !session.HttpOnly {
		t.Fatalf("sign-in through the proxy: %d, session cookie %+v; want 303 and a Secure, HttpOnly cookie", resp.StatusCode, session)
	}
	u, _ := url.Parse(base)
	if _, page := get("/ui/repos/" + repo); !strings.Contains(page, "docker pull "+u.Host+"/"+repo+":") {
		t.Errorf("the repository page through the proxy does not name the public host %s:\n%s", u.Host, page)
	}
}
