package externaltest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Script writes body, after a "#!/bin/sh" line, to an executable file
// named name in a new temporary directory, and returns its path.
//
// The file is written while holding syscall.ForkLock for reading. Tests
// that run in parallel start programs all the time, and a child forked
// while this file is still open for writing inherits the descriptor until
// it calls exec: running the script in that window fails with "text file
// busy" (ETXTBSY). os/exec forks under ForkLock, so no fork happens while
// the file is open.
func Script(t testing.TB, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	syscall.ForkLock.RLock()
	err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o700)
	syscall.ForkLock.RUnlock()
	if err != nil {
		t.Fatal(err)
	}
	return path
}
