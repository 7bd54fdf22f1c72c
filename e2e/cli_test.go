package e2e

import (
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"wharf/e2e/harness"
	"wharf/internal/datadir"
)

// runWharf runs the built wharf binary with args and returns its exit
// status and combined output.
func runWharf(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(harness.WharfBinary(t), args...)
	cmd.Env = withoutPrefix(os.Environ(), "WHARF_")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	}
	t.Fatalf("wharf %s: %v", strings.Join(args, " "), err)
	return 0, ""
}

// TestExitStatuses runs the built binary as a script would: 0 success, 2 a
// wrong command line, 1 a failure; wharf acl check 1 when denied, wharf
// health 1 for anything.
func TestExitStatuses(t *testing.T) {
	harness.SkipIfShort(t)
	t.Parallel()
	data := t.TempDir()
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"version"}, 0, "wharf "},
		{[]string{"--version"}, 0, "wharf "},
		{[]string{"srve"}, 2, `unknown command "srve" for "wharf"`},
		{[]string{"serve", "--adr", ":1"}, 2, "unknown flag: --adr"},
		{[]string{"version", "extra"}, 2, "unknown command"},
		{[]string{"acl", "lss"}, 2, `unknown command "lss" for "wharf acl" (did you mean ls?)`},
		{[]string{"acl", "add", "--account", "a", "--actions", "pul", "--data", data}, 2, `unknown action "pul" (did you mean pull?)`},
		{[]string{"acl", "move", "1", "--data", data}, 2, "accepts 2 arg(s)"},
		{[]string{"acl", "add", "--position", "first", "--data", data}, 2, `invalid argument "first" for "--position"`},
		{[]string{"acl", "check", "admin", "repository:app:pull,push", "--data", data}, 0, "granted:"},
		{[]string{"acl", "check", "bob", "repository:app:pull", "--data", data}, 1, "denied:"},
		{[]string{"acl", "check", "bob", "repository", "--data", data}, 2, "want type:name:actions"},
		{[]string{"health", "--url", "http://127.0.0.1:1"}, 1, "health: http://127.0.0.1:1"},
		{[]string{"health", "--bogus"}, 1, "unknown flag: --bogus"},
		{[]string{"serve", "--log-format", "xml", "--data", t.TempDir()}, 1, `log.format: "xml" is not one of text, json (from --log-format)`},
	}
	for _, tc := range tests {
		code, out := runWharf(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("wharf %s: exit %d, want %d with %q:\n%s", strings.Join(tc.args, " "), code, tc.code, tc.want, out)
		}
	}
}

// TestVersionOfMakeBuild builds wharf as make build and make static (the
// image's binary: -trimpath -s -w) do, and checks that both print the
// version given, and by default git describe's.
func TestVersionOfMakeBuild(t *testing.T) {
	harness.SkipIfShort(t)
	harness.RequireTool(t, "make")
	git := harness.RequireTool(t, "git")
	t.Parallel()
	root := harness.RepoRoot(t)
	dir := t.TempDir()
	make := func(args ...string) {
		t.Helper()
		cmd := exec.Command("make", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	version := func(bin string) {
		t.Helper()
		for _, arg := range []string{"--version", "version"} {
			out, err := exec.Command(bin, arg).Output()
			if err != nil {
				t.Fatalf("%s %s: %v", bin, arg, err)
			}
			if !strings.HasPrefix(string(out), "wharf v9.8.7-e2e go") {
				t.Errorf("%s %s printed %q, want wharf v9.8.7-e2e go…", filepath.Base(bin), arg, out)
			}
		}
	}
	make("build", "BIN="+dir, "VERSION=v9.8.7-e2e")
	version(filepath.Join(dir, "wharf"))
	make("static", "STATIC="+filepath.Join(dir, "static"), "VERSION=v9.8.7-e2e")
	version(filepath.Join(dir, "static"))

	cmd := exec.Command(git, "describe", "--tags", "--always", "--dirty")
	cmd.Dir = root
	described, err := cmd.Output()
	if err != nil {
		t.Fatalf("git describe: %v", err)
	}
	make("build", "BIN="+dir)
	out, err := exec.Command(filepath.Join(dir, "wharf"), "--version").Output()
	if want := "wharf " + strings.TrimSpace(string(described)) + " go"; err != nil || !strings.HasPrefix(string(out), want) {
		t.Errorf("make build without VERSION: --version printed %q (%v), want %s…", out, err, want)
	}
}

// TestStartLines: each start of wharf serve logs the URL clients use and,
// with tls: auto, the CA and how to trust it, the second start as the
// first; with --log-access off no request gets an access line.
func TestStartLines(t *testing.T) {
	t.Parallel()
	w := harness.StartWharf(t, "--tls", "auto", "--log-access", "off")
	ca := datadir.New(w.DataDir()).TLSCACert()
	for start := 1; start <= 2; start++ {
		log := w.Log()
		_, port, _ := strings.Cut(w.Addr(), ":")
		for _, want := range []string{
			`msg="wharf is serving" url=https://127.0.0.1:` + port + " addr=" + w.Addr(),
			"ca=" + ca, "access_log=off",
			"cp " + ca + " /etc/docker/certs.d/HOST:" + port + "/ca.crt",
		} {
			if !strings.Contains(log, want) {
				t.Errorf("start %d: log lacks %q:\n%s", start, want, log)
			}
		}
		if start == 2 {
			break
		}
		w.Stop()
		w.Restart()
	}
	res, err := clientTrusting(t, ca, "").Get("https://" + w.Addr() + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /v2/: %s", res.Status)
	}
	if n := strings.Count(w.Log(), "msg=request "); n != 0 {
		t.Errorf("--log-access off, yet %d access lines:\n%s", n, w.Log())
	}
}

// TestRegistryAccessLogDisabled: wharf registry honours distribution's
// REGISTRY_LOG_ACCESSLOG_DISABLED, and writes access lines without it.
func TestRegistryAccessLogDisabled(t *testing.T) {
	t.Parallel()
	for _, disabled := range []bool{true, false} {
		env := []string{}
		if disabled {
			env = append(env, "REGISTRY_LOG_ACCESSLOG_DISABLED=true")
		}
		w := harness.StartWharfCommand(t, env, "registry", "--addr", "127.0.0.1:0", "--data", t.TempDir())
		res, err := http.Get(w.URL() + "/v2/")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		w.Stop()
		lines := strings.Count(w.Log(), "msg=request ")
		if disabled && lines != 0 || !disabled && lines != 1 {
			t.Errorf("REGISTRY_LOG_ACCESSLOG_DISABLED %v: %d access lines:\n%s", disabled, lines, w.Log())
		}
		if !strings.Contains(w.Log(), "url=http://"+w.Addr()) {
			t.Errorf("the start line lacks the url:\n%s", w.Log())
		}
	}
}
