//go:build unix

package datadir_test

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"wharf/internal/datadir"
)

// containerUID is the user of Wharf's container image: the one a bind
// mount owned by the host's user refuses.
const containerUID = 65532

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

// writableAs runs Writable on dir as a user that does not own it and
// returns its error ("" for none) and that user's uid and gid. The tests
// run as root here, which may write anywhere: then the check runs in a
// copy of this test binary started as the container's user (a real uid
// switch, as in a container). Otherwise the current user does not own
// a directory the caller made read-only (mode 0555), and the check runs
// in this process.
func writableAs(t *testing.T, dir string) (msg string, uid, gid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := datadir.New(dir).Writable(); err != nil {
			msg = err.Error()
		}
		return msg, os.Getuid(), os.Getgid()
	}
	bin := filepath.Join(t.TempDir(), "datadir.test")
	copyFile(t, os.Args[0], bin)
	traversable(t, bin)
	traversable(t, dir)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), writableEnv+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: containerUID, Gid: containerUID, NoSetGroups: true}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the check as uid %d: %v\n%s", containerUID, err, out)
	}
	return string(out), containerUID, containerUID
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// traversable lets every user reach path: t.TempDir makes its
// directories 0700.
func traversable(t *testing.T, path string) {
	t.Helper()
	tmp := filepath.Clean(os.TempDir())
	for p := filepath.Dir(path); strings.HasPrefix(p, tmp+string(filepath.Separator)); p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, fi.Mode().Perm()|0o111); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWritableExplainsTheFix: a data directory the server's user cannot
// write in is refused with what SQLite would not say (its "unable to open
// database file (14)"): the directory, its owner and mode, the process's
// user and the chown that fixes it. The same holds for the parent a
// missing data directory would be created in.
func TestWritableExplainsTheFix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data func(locked string) string
	}{
		{"the directory", func(locked string) string { return locked }},
		{"its parent", func(locked string) string { return filepath.Join(locked, "wharf-data") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
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
