package datadir

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// ErrInUse means another process holds the data directory's lock.
var ErrInUse = errors.New("datadir: in use by another wharf serve")

// Lock is a process's hold on a data directory, until Unlock or its exit.
type Lock struct{ f *os.File }

// Lock takes the data directory for this process: an exclusive advisory
// lock (flock) on LockFile, which holds the owner's process id for the
// message another process gets. It does not wait: while another process
// holds it, the error wraps ErrInUse and names that process and the fix.
// The kernel releases the lock when the process ends, however it ends, so
// a crashed server leaves nothing to clean up.
//
// `wharf serve` takes it: two servers on one directory would share its
// SQLite database, its upload files and its keys without knowing of each
// other. The commands that change users, teams and rules (`wharf user`, …)
// do not: they open the same database next to a running server by design.
// The directory must exist (Create).
func (d Dir) Lock() (*Lock, error) {
	path := d.LockFile()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("datadir: lock: %w", err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("datadir: lock %s: %w", path, err)
	}
	if !held {
		who := "another process"
		if pid := readPID(f); pid > 0 {
			who = "process " + strconv.Itoa(pid)
		}
		f.Close()
		return nil, fmt.Errorf("%w: %s holds %s; two servers would share the SQLite database and files of %s: "+
			"stop that one first, or give this one another data directory (--data, WHARF_DATA)", ErrInUse, who, path, d.root)
	}
	if err = f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("datadir: lock %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// Unlock releases the data directory. The file stays; its process id is
// cleared, so that it names no process that has gone.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := l.f.Close() // releases the lock
	l.f = nil
	return err
}

// readPID reads the process id the lock's holder wrote, or 0.
func readPID(f *os.File) int {
	b, err := io.ReadAll(io.LimitReader(f, 32))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}
