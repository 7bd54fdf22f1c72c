package e2e

import (
	"context"
	"errors"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"wharf/e2e/harness"
	"wharf/internal/datadir"
)

// TestDataDirLock starts `wharf serve`, then a second `wharf serve` on the
// same data directory: it exits at once with an error naming the running
// server's process id, the lock file and the fix, while the first keeps
// serving and the management commands (wharf user, acl) keep working on
// the same directory. Once the first has stopped, a server starts there
// and finds what the commands wrote.
func TestDataDirLock(t *testing.T) {
	harness.SkipIfShort(t)
	w := harness.StartWharf(t, "--auth", "token")
	bin := harness.WharfBinary(t)
	cli := wharfCLI{t: t, bin: bin, data: w.DataDir()}

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	second := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--data", w.DataDir(), "--auth", "token", "--tls", "off")
	second.Env = cli.env()
	out, err := second.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("a second wharf serve on %s: %v; want it to exit with an error\n%s", w.DataDir(), err, out)
	}
	for _, want := range []string{"process " + strconv.Itoa(w.PID()) + " ", datadir.New(w.DataDir()).LockFile(), "stop that one first", "--data"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the refusal lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "wharf is serving") {
		t.Errorf("the second server served:\n%s", out)
	}

	// The first one serves on; the commands share its directory.
	if res, err := httpClient.Get(w.URL() + "/readyz"); err != nil || res.StatusCode != 200 {
		t.Fatalf("the first server after the refusal: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	cli.run("bob's long password\n", "user", "add", "bob", "--password-stdin")
	// No rule gives bob anything: explained, and exit status 1.
	check, err := cli.try("", "acl", "check", "bob", "repository:bob/app:pull")
	var denied *exec.ExitError
	if !errors.As(err, &denied) || denied.ExitCode() != 1 || !strings.Contains(check, "bob") {
		t.Errorf("acl check while serving: %v\n%s", err, check)
	}

	w.Stop()
	w.Restart()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.URL()+"/auth/token?service=wharf", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("bob", "bob's long password")
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("bob's login on the server started after the first stopped: %s", res.Status)
	}
}
