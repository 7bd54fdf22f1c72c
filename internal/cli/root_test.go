package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"wharf/internal/config"
)

// walk calls f for every command of the tree under cmd.
func walk(cmd *cobra.Command, f func(*cobra.Command)) {
	f(cmd)
	for _, sub := range cmd.Commands() {
		walk(sub, f)
	}
}

// metavar is what a back-quoted word in a flag's usage may be: pflag shows
// it as the flag's argument ("--config FILE"), so it must read as one.
var metavar = regexp.MustCompile(`^[A-Z][A-Z0-9_=]*$`)

// TestFlagUsagesNameNoArgument: pflag takes a back-quoted word in a usage
// string for the argument's name, so "the wharf.yml `wharf serve` uses"
// rendered as "--config wharf serve". Every flag of every command must
// show its type or an upper-case name.
func TestFlagUsagesNameNoArgument(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	n := 0
	walk(newRoot(&out, &errb), func(cmd *cobra.Command) {
		check := func(f *pflag.Flag) {
			n++
			name, _ := pflag.UnquoteUsage(f)
			if strings.Contains(f.Usage, "`") && !metavar.MatchString(name) {
				t.Errorf("%s --%s: the usage's back quotes make %q its argument's name: %q", cmd.CommandPath(), f.Name, name, f.Usage)
			}
		}
		cmd.LocalFlags().VisitAll(check)
		cmd.InheritedFlags().VisitAll(check)
	})
	if n < 50 {
		t.Fatalf("walked %d flags; the tree is not what this test expects", n)
	}
	// And as a user sees it.
	if code := Run(t.Context(), []string{"user", "add", "--help"}, &out, &errb); code != 0 {
		t.Fatalf("user add --help: %d %s", code, errb.String())
	}
	if strings.Contains(out.String(), "--config wharf") {
		t.Errorf("user add --help:\n%s", out.String())
	}
}

// TestServeHelp: wharf serve --help tells a new user what the first start
// does: the admin password, HTTPS with a generated CA and how to trust it,
// with examples.
func TestServeHelp(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	if code := Run(t.Context(), []string{"serve", "--help"}, &out, &errb); code != 0 {
		t.Fatalf("serve --help: %d %s", code, errb.String())
	}
	for _, want := range []string{"WHARF_ADMIN_PASSWORD", "auth/admin.password", "tls/ca.crt", "/etc/docker/certs.d/",
		"Examples:", "wharf serve --addr 127.0.0.1:5000 --tls off", "--log-format", "--log-access"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("serve --help lacks %q:\n%s", want, out.String())
		}
	}
}

// TestExitStatus: 0 success, 2 a wrong command line, 1 any other failure;
// wharf acl check 1 when an action is denied, wharf health 1 for all.
func TestExitStatus(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	tests := []struct {
		args []string
		code int
		want string // in stderr
	}{
		{[]string{"version"}, 0, ""},
		{[]string{"user"}, 0, ""}, // help
		{[]string{"srve"}, 2, `unknown command "srve" for "wharf"`},
		{[]string{"serve", "extra"}, 2, `unknown command "extra" for "wharf serve"`},
		{[]string{"serve", "--adr", ":1"}, 2, "unknown flag: --adr"},
		{[]string{"user", "ad", "bob"}, 2, `unknown command "ad" for "wharf user" (did you mean add?)`},
		{[]string{"acl", "rm", "--data", data}, 2, "accepts 1 arg(s), received 0"},
		{[]string{"acl", "rm", "first", "--data", data}, 2, `rule id "first"`},
		{[]string{"acl", "add", "--position", "x", "--data", data}, 2, `invalid argument "x" for "--position"`},
		{[]string{"acl", "add", "--account", "a", "--data", data}, 2, "give --actions"},
		{[]string{"acl", "add", "--account", "a", "--actions", "pull,pussh", "--data", data}, 2, `unknown action "pussh" (did you mean push?)`},
		{[]string{"acl", "check", "admin", "repository:app:pull", "--data", data}, 0, ""},
		{[]string{"acl", "check", "bob", "repository:app:pull", "--data", data}, 1, ""},
		{[]string{"acl", "check", "bob", "app", "--data", data}, 2, "want type:name:actions"},
		{[]string{"acl", "check", "bob", "repository:app:pull", "--data", data, "--config", "/nonexistent.yml"}, 2, "/nonexistent.yml"},
		{[]string{"health", "--bogus"}, 1, "unknown flag: --bogus"},
		{[]string{"health", "extra"}, 1, `unknown command "extra"`},
		{[]string{"doctor", "--bogus"}, 2, "unknown flag: --bogus"},
		{[]string{"serve", "--log-format", "xml", "--data", t.TempDir()}, 1, `log.format: "xml" is not one of text, json (from --log-format)`},
		{[]string{"user", "passwd", "nobody", "--password-stdin", "--data", data}, 1, ""},
	}
	for _, tc := range tests {
		var out, errb bytes.Buffer
		code := Run(t.Context(), tc.args, &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("wharf %s: exit %d, want %d; stderr %q, want %q", strings.Join(tc.args, " "), code, tc.code, errb.String(), tc.want)
		}
		if code == exitUsage && !strings.Contains(errb.String(), "--help' for usage") {
			t.Errorf("wharf %s: a usage error without the way to help: %q", strings.Join(tc.args, " "), errb.String())
		}
	}
}

// TestVersionFlag: wharf --version and wharf version print the same line.
func TestVersionFlag(t *testing.T) {
	t.Parallel()
	var a, b, errb bytes.Buffer
	if Run(t.Context(), []string{"--version"}, &a, &errb) != 0 || Run(t.Context(), []string{"version"}, &b, &errb) != 0 {
		t.Fatalf("stderr: %s", errb.String())
	}
	if a.String() != b.String() || !strings.HasPrefix(a.String(), "wharf ") || !strings.HasSuffix(a.String(), "\n") {
		t.Errorf("--version %q, version %q", a.String(), b.String())
	}
}

// TestForeignNotesFollowLogFormat: what distribution's reader remarks
// about a config.yml is written with the log.format and log.level the
// command ends up with, not as text before them.
func TestForeignNotesFollowLogFormat(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "config.yml")
	body := "version: 0.1\nstorage:\n  filesystem: {rootdirectory: " + t.TempDir() + "}\n  cache: {blobdescriptor: inmemory}\nhealth: {}\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var notes bytes.Buffer
	if _, err := resolveGiven(config.RoleRegistry, map[string]string{"config": file, "log-format": "json"}, &notes); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(notes.String()), "\n")
	if len(lines) < 1 || !strings.Contains(notes.String(), "storage.cache") {
		t.Fatalf("notes %q; want storage.cache's", notes.String())
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["key"] == nil {
			t.Errorf("note %q is not a JSON line naming its key (%v)", l, err)
		}
	}
	notes.Reset()
	if _, err := resolveGiven(config.RoleRegistry, map[string]string{"config": file, "log-level": "warn"}, &notes); err != nil {
		t.Fatal(err)
	}
	if notes.Len() != 0 {
		t.Errorf("--log-level warn, yet INFO notes: %q", notes.String())
	}
}

// TestServeLogFormatJSON: with --log-format json every line wharf serve
// writes is JSON, the start line with the URL.
func TestServeLogFormatJSON(t *testing.T) {
	t.Parallel()
	errb, _, stop := startServe(t, regexp.MustCompile(`"msg":"wharf is serving"`),
		"--auth", "none", "--tls", "off", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--log-format", "json")
	if code := stop(); code != 0 {
		t.Errorf("serve exited with %d", code)
	}
	start := false
	for _, l := range strings.Split(strings.TrimSpace(errb.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Errorf("not a JSON line: %q", l)
			continue
		}
		if m["msg"] == "wharf is serving" {
			start = strings.HasPrefix(m["url"].(string), "http://127.0.0.1:")
		}
	}
	if !start {
		t.Errorf("the start line lacks url:\n%s", errb.String())
	}
}
