//go:build unix

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"wharf/e2e/harness"
)

// containerUser is the uid and gid of Wharf's container image.
const containerUser = 65532

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
	bin := harness.WharfBinary(t)
	uid, gid := os.Getuid(), os.Getgid()
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		// The built binary sits in a private directory: give the
		// container's user a copy it can run, on a path it can reach.
		bin = runnableCopy(t, bin, base)
		for p := base; p != "/" && p != "."; p = filepath.Dir(p) {
			if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o001 == 0 {
				if err := os.Chmod(p, fi.Mode().Perm()|0o111); err != nil {
					t.Fatal(err)
				}
			}
		}
		uid, gid = containerUser, containerUser
		cred = &syscall.Credential{Uid: containerUser, Gid: containerUser, NoSetGroups: true}
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

// runnableCopy copies bin into dir, executable by everyone.
func runnableCopy(t *testing.T, bin, dir string) string {
	t.Helper()
	in, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	path := filepath.Join(dir, "wharf")
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
