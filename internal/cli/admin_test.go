package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A bad WHARF_ADMIN_PASSWORD stops wharf serve before it creates the data
// directory, its database, key or certificates. Not parallel: it sets the
// environment.
func TestServeChecksTheAdminPasswordFirst(t *testing.T) {
	for _, pw := range []string{"short", `"quoted password"`} {
		t.Setenv("WHARF_ADMIN_PASSWORD", pw)
		data := filepath.Join(t.TempDir(), "d")
		var out, errb bytes.Buffer
		// Were the value taken, the server would run: the deadline stops it.
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		code := Run(ctx, []string{"serve", "--data", data, "--addr", "127.0.0.1:0"}, &out, &errb)
		cancel()
		if code == 0 {
			t.Fatalf("%q: exit code 0, want failure", pw)
		}
		if !strings.Contains(errb.String(), "WHARF_ADMIN_PASSWORD") || strings.Contains(errb.String(), pw) {
			t.Errorf("%q: stderr does not name the variable, or shows the password:\n%s", pw, errb.String())
		}
		if _, err := os.Stat(data); !os.IsNotExist(err) {
			t.Errorf("%q: the data directory was created: %v", pw, err)
		}
	}
}

// wharf token create warns when the ACL grants the token's user less than
// its scopes name, with the rule that would grant it; the token is made.
func TestTokenCreateWarns(t *testing.T) {
	t.Parallel()
	d := []string{"--data", t.TempDir()}
	cmd := func(args ...string) []string { return append(args, d...) }
	mustCLI(t, "", cmd("user", "add", "ci", "--robot")...)

	out, errOut, err := runCLI(t, "", cmd("token", "create", "--user", "ci", "--repo", "dev/*", "--actions", "pull")...)
	if err != nil || !strings.HasPrefix(out, "wharf_") {
		t.Fatalf("token create: %v\n%s%s", err, out, errOut)
	}
	for _, want := range []string{"warning: the ACL grants ci no pull on repository dev/*", "checked as dev/x", "wharf acl add --account ci --type repository --name 'dev/*' --actions pull"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not say %q:\n%s", want, errOut)
		}
	}

	// Once a rule grants it, nothing is said; a part not granted still is.
	mustCLI(t, "", cmd("acl", "add", "--account", "ci", "--type", "repository", "--name", "dev/*", "--actions", "pull")...)
	_, errOut, err = runCLI(t, "", cmd("token", "create", "--user", "ci", "--repo", "dev/*", "--actions", "pull")...)
	if err != nil || strings.Contains(errOut, "warning") {
		t.Errorf("a granted token: %v; want no warning:\n%s", err, errOut)
	}
	out, errOut, err = runCLI(t, "", cmd("token", "create", "--user", "ci", "--repo", "dev/*", "--actions", "pull,push", "--json")...)
	if err != nil || !strings.Contains(errOut, "no push on repository dev/*") || strings.Contains(errOut, "no pull") || !strings.Contains(out, `"warnings": [`) {
		t.Errorf("a token asking for more: %v\n%s%s", err, out, errOut)
	}
}
