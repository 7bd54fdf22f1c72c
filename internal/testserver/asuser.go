package testserver

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// ContainerUID is the uid and gid of Wharf's container image.
const ContainerUID = 65532

// AsContainerUser returns how to run the executable bin as a user that
// owns none of the test's files, as a container's 65532 owns no bind mount
// of the host. The tests run as root here, who may write anywhere: then
// it is a copy of bin that every user can run and the credential of uid
// and gid 65532 (a real uid switch). Otherwise it is bin itself, run as
// the current user, and cred is nil. Directories the user must reach are
// made traversable with Reachable.
func AsContainerUser(t testing.TB, bin string) (path string, cred *syscall.Credential) {
	t.Helper()
	if os.Geteuid() != 0 {
		return bin, nil
	}
	path = filepath.Join(t.TempDir(), filepath.Base(bin))
	if err := copyExecutable(bin, path); err != nil {
		t.Fatal(err)
	}
	if err := reachable(path); err != nil {
		t.Fatal(err)
	}
	return path, &syscall.Credential{Uid: ContainerUID, Gid: ContainerUID, NoSetGroups: true}
}

// Reachable lets every user traverse path's parents up to the temporary
// directory (t.TempDir creates them 0700).
func Reachable(t testing.TB, path string) {
	t.Helper()
	if err := reachable(path); err != nil {
		t.Fatal(err)
	}
}

func reachable(path string) error {
	tmp := filepath.Clean(os.TempDir())
	for p := filepath.Dir(path); strings.HasPrefix(p, tmp+string(filepath.Separator)); p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if err := os.Chmod(p, fi.Mode().Perm()|0o111); err != nil {
			return err
		}
	}
	return nil
}

func copyExecutable(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
