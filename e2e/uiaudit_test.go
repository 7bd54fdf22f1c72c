package e2e

import (
	"context"
	_ "embed"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// axeSource is axe-core 4.14.1 (MPL-2.0, from the npm registry: npm pack
// axe-core@4.14.1, sha256 of the tarball
// e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745),
// run in each page the browser test opens. It is test data: the binary
// never holds it.
//
//go:embed testdata/axe-core/axe.min.js
var axeSource string

// axeRun asks axe for the page's serious and critical violations, one
// line each: the rule, its impact, how many elements and the first one.
const axeRun = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
	.filter(v => v.impact === "serious" || v.impact === "critical")
	.map(v => v.id + " (" + v.impact + ", " + v.nodes.length + " elements, e.g. " + v.nodes[0].target.join(" ") + "): " + v.help))`

// pageAuditor checks every page the browser test opens: no serious or
// critical accessibility violation (axe-core, injected through the
// DevTools protocol, which the pages' CSP does not govern), and a
// screenshot of it, kept in WHARF_UI_SCREENSHOTS when that is set (CI
// keeps them as artifacts; docs/ui/ has the main ones), else in the
// test's directory.
type pageAuditor struct {
	t     *testing.T
	dir   string
	pages int
}

func newPageAuditor(t *testing.T) *pageAuditor {
	dir := os.Getenv("WHARF_UI_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &pageAuditor{t: t, dir: dir}
}

var unsafeName = regexp.MustCompile(`[^a-z0-9-]+`)

// check audits the page the browser shows now, named name.
func (a *pageAuditor) check(ctx context.Context, name string) {
	a.t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axeSource+";true")); err != nil {
		a.t.Fatalf("load axe-core into %s: %v", name, err)
	}
	violations := read(a.t, ctx, "axe on "+name, chromedp.Evaluate[[]string](axeRun, chromedp.EvalAwaitPromise))
	for _, v := range violations {
		a.t.Errorf("accessibility of the %s page: %s", name, v)
	}
	shot := read(a.t, ctx, "screenshot of "+name, chromedp.FullScreenshot(100))
	file := filepath.Join(a.dir, unsafeName.ReplaceAllString(strings.ToLower(name), "-")+".png")
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		a.t.Fatal(err)
	}
	a.pages++
}

// proveItCatches runs axe on a page with a known critical violation (an
// image without a text alternative) and fails unless axe reports it: a
// check that found nothing on every page proves something only if it can
// find something.
func (a *pageAuditor) proveItCatches(ctx context.Context) {
	a.t.Helper()
	browse(a.t, ctx, "a page with a known violation", chromedp.Navigate(`data:text/html,<!DOCTYPE html><html lang="en"><title>x</title><main><img src="x.png"></main></html>`))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axeSource+";true")); err != nil {
		a.t.Fatalf("load axe-core: %v", err)
	}
	violations := read(a.t, ctx, "axe on a known violation", chromedp.Evaluate[[]string](axeRun, chromedp.EvalAwaitPromise))
	if len(violations) == 0 || !strings.Contains(strings.Join(violations, "\n"), "image-alt") {
		a.t.Fatalf("axe-core did not report an image without alt: %q", violations)
	}
}

// tabTo presses Tab, as a person with only a keyboard does, until the
// focused element matches the CSS selector sel, and fails after 40
// presses: everything the main flows need is reachable in order.
func tabTo(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	for range 40 {
		browse(t, ctx, "Tab", chromedp.KeyEvent(kb.Tab))
		if read(t, ctx, "focus", chromedp.Evaluate[bool](`document.activeElement !== null && document.activeElement.matches(`+strconv.Quote(sel)+`)`)) {
			return
		}
	}
	t.Fatalf("40 presses of Tab never reached %s", sel)
}

// keyboardWalk signs in and opens a repository and an image with the
// keyboard alone: Tab to each field and link, typing, Enter.
func keyboardWalk(t *testing.T, ctx context.Context, base, user, password string) {
	t.Helper()
	browse(t, ctx, "the sign-in page", chromedp.Navigate(base+"/ui/login"), chromedp.WaitVisible(chromedp.CSS("#username")))
	tabTo(t, ctx, "#username")
	browse(t, ctx, "type the user name", chromedp.KeyEvent(user))
	tabTo(t, ctx, "#password")
	browse(t, ctx, "type the password and press Enter", chromedp.KeyEvent(password), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#whoami")))
	tabTo(t, ctx, "a.repo")
	browse(t, ctx, "open the repository", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("a.tag")))
	tabTo(t, ctx, "a.tag")
	browse(t, ctx, "open the image", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#layers")))
	tabTo(t, ctx, "#signout")
	browse(t, ctx, "sign out", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#username")))
}
