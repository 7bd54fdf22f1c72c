//go:build unix

package datadir_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"wharf/internal/datadir"
	"wharf/internal/testserver"
)

// writableEnv asks the test binary, run as another user, to check one
// directory and print the verdict (TestMain).
const writableEnv = "WHARF_DATADIR_TEST_WRITABLE"

// checkWritable is the test binary's work when started by writableAs.
func checkWritable(dir string) {
	if err := datadir.New(dir).Writable(); err != nil {
		fmt.Print(err)
	}
	os.Exit(0)
}

// writableAs runs Writable on dir, in a copy of this test binary, as a
// user that does not own dir (testserver.AsContainerUser: uid 65532 when
// the tests run as root, who may write anywhere; else the current user,
// for whom the caller made dir read-only), and returns its error ("" for
// none) and that user's uid and gid.
func writableAs(t *testing.T, dir string) (msg string, uid, gid int) {
	t.Helper()
	bin, cred := testserver.AsContainerUser(t, os.Args[0])
	testserver.Reachable(t, dir)
	uid, gid = os.Getuid(), os.Getgid()
	if cred != nil {
		uid, gid = int(cred.Uid), int(cred.Gid)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), writableEnv+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the check as uid %d: %v\n%s", uid, err, out)
	}
	return string(out), uid, gid
}

// TestWritableExplainsTheFix: a data directory the server's user cannot
// write in is refused with what SQLite would not say (its "unable to open
// database file (14)"): the directory, its owner and mode, the process's
// user and the chown that fixes it. The same holds for the parent a
// missing data directory would be created in. Not parallel: a child
// forked while TestLock releases and takes its lock again shares the lock
// file until it execs, and TestLock would see it held.
func TestWritableExplainsTheFix(t *testing.T) {
	tests := []struct {
		name string
		data func(locked string) string
	}{
		{"the directory", func(locked string) string { return locked }},
		{"its parent", func(locked string) string { return filepath.Join(locked, "wharf-data") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			locked := filepath.Join(t.TempDir(), "mnt")
			if err := os.Mkdir(locked, 0o555); err != nil {
				t.Fatal(err)
			}
			data := tc.data(locked)
			msg, uid, gid := writableAs(t, data)
			for _, want := range []string{
				"datadir: not writable: " + locked,
				"with mode 0555",
				fmt.Sprintf("owned by uid %d, gid %d", os.Getuid(), os.Getgid()),
				fmt.Sprintf("this process runs as uid %d, gid %d", uid, gid),
				fmt.Sprintf("`chown %d:%d %s`", uid, gid, locked),
			} {
				if !strings.Contains(msg, want) {
					t.Errorf("the error does not say %q:\n%s", want, msg)
				}
			}
			if data != locked && !strings.Contains(msg, "where "+data+" would be created") {
				t.Errorf("the error does not name the data directory %s:\n%s", data, msg)
			}
		})
	}
}

// TestWritableFindsWhatAnEarlierRunLeft: a data directory the user may
// write in, holding a database or an auth/ directory an earlier run made
// as another user (root, before the container ran as 65532), is refused
// with the file and a recursive chown, before SQLite says "attempt to
// write a readonly database". Not parallel: see TestWritableExplainsTheFix.
func TestWritableFindsWhatAnEarlierRunLeft(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(data string) (string, error)
	}{
		{"database", func(data string) (string, error) {
			p := datadir.New(data).Database()
			return p, os.WriteFile(p, nil, 0o644)
		}},
		{"auth directory", func(data string) (string, error) {
			p := datadir.New(data).Auth()
			return p, os.Mkdir(p, 0o755)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(data, 0o777); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(data, 0o777); err != nil { // past the umask: everyone may write here
				t.Fatal(err)
			}
			left, err := tc.make(data)
			if err != nil {
				t.Fatal(err)
			}
			if os.Geteuid() != 0 {
				// Not root: the current user cannot take write access
				// from itself by ownership, so by mode.
				if err := os.Chmod(left, 0o555); err != nil {
					t.Fatal(err)
				}
			}
			msg, uid, gid := writableAs(t, data)
			for _, want := range []string{
				"datadir: not writable: " + left + " (in the data directory)",
				fmt.Sprintf("`chown -R %d:%d %s`", uid, gid, data),
			} {
				if !strings.Contains(msg, want) {
					t.Errorf("the error does not say %q:\n%s", want, msg)
				}
			}
		})
	}
}

// TestWritableLeavesNothing: the check on a directory that does not exist
// yet creates nothing, neither the directory nor its probe file; a file
// where the directory should be is refused.
func TestWritableLeavesNothing(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	data := filepath.Join(parent, "a", "b")
	if err := datadir.New(data).Writable(); err != nil {
		t.Fatal(err)
	}
	if list, _ := os.ReadDir(parent); len(list) != 0 {
		t.Errorf("the check left %v in %s", list, parent)
	}
	if err := datadir.New(parent).Writable(); err != nil {
		t.Fatal(err)
	}
	if list, _ := os.ReadDir(parent); len(list) != 0 {
		t.Errorf("the check left %v in %s", list, parent)
	}
	file := filepath.Join(parent, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := datadir.New(file).Writable()
	if err == nil || !strings.Contains(err.Error(), file+" is a file, not a directory") {
		t.Errorf("a file as data directory: %v", err)
	}
	if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the data directory was created: %v", err)
	}
}
