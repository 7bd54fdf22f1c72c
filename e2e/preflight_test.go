//go:build unix

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"wharf/e2e/harness"
	"wharf/internal/testserver"
)

// TestServeOnADirectoryItCannotWrite: the classic bind mount owned by the
// host's user, served by a container running as 65532. wharf serve used
// to fail with SQLite's "unable to open database file (14)"; it now says
// which directory, who owns it with which mode, which user it runs as
// and the chown that fixes it, and creates nothing.
//
// What is simulated: the tests run as root, who may write anywhere, so
// the binary is started as uid 65532 on a directory root owns (mode
// 0755), as in a container; run as another user, it is that user on a
// directory made read-only (0555), which it does not own either way.
func TestServeOnADirectoryItCannotWrite(t *testing.T) {
	harness.SkipIfShort(t)
	base := t.TempDir()
	mount := filepath.Join(base, "mnt")
	if err := os.Mkdir(mount, 0o555); err != nil {
		t.Fatal(err)
	}
	bin, cred := testserver.AsContainerUser(t, harness.WharfBinary(t))
	testserver.Reachable(t, mount)
	uid, gid := os.Getuid(), os.Getgid()
	if cred != nil {
		uid, gid = int(cred.Uid), int(cred.Gid)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--data", mount, "--tls", "off")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Env = wharfCLI{}.env()
	cmd.Dir = base
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("wharf serve on %s: %v; want it to exit with an error\n%s", mount, err, out)
	}
	t.Logf("wharf serve as uid %d:\n%s", uid, out)
	for _, want := range []string{
		"data: datadir: not writable: " + mount,
		"with mode 0555",
		fmt.Sprintf("this process runs as uid %d, gid %d", uid, gid),
		fmt.Sprintf("`chown %d:%d %s`", uid, gid, mount),
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the refusal lacks %q", want)
		}
	}
	if strings.Contains(string(out), "unable to open database file") {
		t.Errorf("the refusal is SQLite's, not Wharf's")
	}
	if list, err := os.ReadDir(mount); err != nil || len(list) != 0 {
		t.Errorf("the directory holds %v (%v), want nothing", list, err)
	}
}
