package external_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/auth"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/external"
	"wharf/internal/auth/external/externaltest"
)

func newAuthz(t *testing.T, body string, timeout time.Duration) *external.ExtAuthz {
	t.Helper()
	path := externaltest.Script(t, "ext_authz.sh", body)
	prog, err := external.NewProgram(external.ProgramConfig{Command: path, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return external.NewExtAuthz(prog, nil)
}

// request is alice's pull and push of team/app, from an IPv4 address the
// listener saw as IPv4-mapped IPv6 (the programs and webhooks get it
// unmapped).
func request() auth.Request {
	return auth.Request{
		Identity: auth.Identity{Account: "alice", Labels: auth.Labels{"group": {"dev"}}},
		Service:  "registry.example.com",
		IP:       netip.MustParseAddr("::ffff:10.1.2.3"),
		Access:   auth.Access{Type: "repository", Name: "team/app", Actions: []string{"pull", "push"}},
	}
}

// TestExtAuthzInput: the program reads docker_auth's AuthRequestInfo JSON, field
// names and all.
func TestExtAuthzInput(t *testing.T) {
	t.Parallel()
	saved := filepath.Join(t.TempDir(), "stdin")
	a := newAuthz(t, "cat > '"+saved+"'\nexit 0\n", 30*time.Second)
	if _, err := a.Authorize(context.Background(), request()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Account":"alice","Type":"repository","Name":"team/app","Service":"registry.example.com","IP":"10.1.2.3","Actions":["pull","push"],"Labels":{"group":["dev"]}}`
	if string(got) != want {
		t.Errorf("stdin:\n got %s\nwant %s", got, want)
	}

	anon, err := external.ExtAuthzInput(auth.Request{Access: auth.Access{Type: "registry", Name: "catalog"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"Account":"","Type":"registry","Name":"catalog","Service":"","IP":"","Actions":[],"Labels":null}`; string(anon) != want {
		t.Errorf("anonymous request:\n got %s\nwant %s", anon, want)
	}
}

func TestExtAuthzDecisions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		want       []string
	}{
		{"allow", "cat >/dev/null; exit 0", []string{"pull", "push"}},
		{"deny", "cat >/dev/null; exit 1", []string{}},
		{"docker_auth's example (my_authz.sh)", "read j;\n\n\nexit 1", []string{}},
		{"stdout is no answer", "cat >/dev/null; echo '{\"actions\": []}'; echo garbage; exit 0", []string{"pull", "push"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := newAuthz(t, tc.body+"\n", 30*time.Second).Authorize(context.Background(), request())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestExtAuthzErrorsNeverGrant(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, body string }{
		{"exit 2 (an error in docker_auth's protocol)", "exit 2"},
		{"exit 3", "exit 3"},
		{"exit 255", "exit 255"},
		{"command not found", "no-such-command-anywhere"},
		{"killed", "kill -9 $$"},
		{"huge output", "head -c 10000000 /dev/zero; exit 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := newAuthz(t, "cat >/dev/null\n"+tc.body+"\n", 30*time.Second).Authorize(context.Background(), request())
			if err == nil || errors.Is(err, authz.ErrNoMatch) || got != nil {
				t.Fatalf("%v, %v; want an error and no actions", got, err)
			}
		})
	}
}

func TestExtAuthzTimeoutKillsGrandchild(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	a := newAuthz(t, "cat >/dev/null\nsleep 1000 & echo $! > '"+pidFile+"'\nwait\n", 300*time.Millisecond)
	got, err := a.Authorize(context.Background(), request())
	if err == nil || got != nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("%v, %v; want a timeout error", got, err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	proc := "/proc/" + strings.TrimSpace(string(b)) + "/stat"
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := os.ReadFile(proc)
		if err != nil || strings.Contains(string(st), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the script's background child survived the timeout")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestExtAuthzErrorQuotesStderr(t *testing.T) {
	t.Parallel()
	_, err := newAuthz(t, "cat >/dev/null; echo 'ldap server down' >&2; exit 5\n", 30*time.Second).Authorize(context.Background(), request())
	if err == nil || !strings.Contains(err.Error(), "ldap server down") || !strings.Contains(err.Error(), "exit code 5") {
		t.Fatalf("error %v should name the exit code and quote stderr", err)
	}
}
