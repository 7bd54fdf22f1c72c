//go:build unix

package datadir_test

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"wharf/internal/datadir"
)

// holderEnv makes the test binary a process that holds a data directory's
// lock until its stdin closes or it is killed (TestLockAcrossProcesses).
const holderEnv = "WHARF_DATADIR_TEST_HOLD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(writableEnv); dir != "" {
		checkWritable(dir)
	}
	if dir := os.Getenv(holderEnv); dir != "" {
		l, err := datadir.New(dir).Lock()
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("locked\n")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes it, or kills us
		_ = l.Unlock()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestLock: a second Lock of the same directory is refused while the first
// is held, with ErrInUse and a message that names the holder, the lock
// file and the fix, and succeeds once the first is released.
func TestLock(t *testing.T) {
	t.Parallel()
	d := datadir.New(t.TempDir())
	first, err := d.Lock()
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Lock()
	if !errors.Is(err, datadir.ErrInUse) {
		t.Fatalf("second Lock: %v; want ErrInUse", err)
	}
	for _, want := range []string{"process " + strconv.Itoa(os.Getpid()), d.LockFile(), "--data"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q: %v", want, err)
		}
	}
	if err := first.Unlock(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(d.LockFile()); len(b) != 0 {
		t.Errorf("the released lock file still names a process: %q", b)
	}
	again, err := d.Lock()
	if err != nil {
		t.Fatalf("Lock after Unlock: %v", err)
	}
	if err := again.Unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := datadir.New(d.Root() + "/missing").Lock(); err == nil {
		t.Error("Lock of a directory that does not exist succeeded")
	}
}

// TestLockAcrossProcesses: another process's lock refuses this one's, and
// naming it by pid; killed with SIGKILL, it leaves no lock behind.
func TestLockAcrossProcesses(t *testing.T) {
	t.Parallel()
	d := datadir.New(t.TempDir())
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holderEnv+"="+d.Root())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "locked\n" {
		t.Fatalf("the holder did not lock: %q, %v", line, err)
	}
	_, err = d.Lock()
	if !errors.Is(err, datadir.ErrInUse) || !strings.Contains(err.Error(), "process "+strconv.Itoa(cmd.Process.Pid)+" ") {
		t.Fatalf("Lock while process %d holds it: %v", cmd.Process.Pid, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	l, err := d.Lock()
	if err != nil {
		t.Fatalf("Lock after the holder was killed: %v", err)
	}
	_ = l.Unlock()
}
