package testserver

import (
	"os"
	"os/exec"
	"testing"
)

// SmallDisk mounts a tmpfs of size (mount's size=, e.g. "64m") at a new
// directory and unmounts it when the test ends, after the servers the test
// starts later are stopped: a real full disk for the tests of what a full
// disk does. Mounting needs root, as the test environment runs; elsewhere
// the test is skipped, saying so.
func SmallDisk(t testing.TB, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root: run the tests as root to prove the full-disk behaviour")
	}
	disk := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", disk).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", disk).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", disk, err, out)
		}
	})
	return disk
}
