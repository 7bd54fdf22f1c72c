package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotWritable is a data directory the process cannot write in.
var ErrNotWritable = errors.New("not writable")

// Writable checks, before a server opens anything, that this process can
// write in the data directory, or create it in its nearest existing parent.
// It leaves nothing behind: a probe file is created and removed, and a
// missing directory stays missing. The classic failure is a bind mount
// owned by the host's user while the container runs as 65532: SQLite then
// says only "unable to open database file (14)". The error names the
// directory, its owner and mode, the process's user and the chown that
// fixes it.
func (d Dir) Writable() error {
	dir := filepath.Clean(d.root)
	for {
		fi, err := os.Stat(dir)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("datadir: %s is a file, not a directory: point --data (WHARF_DATA) at a directory", dir)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("datadir: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return fmt.Errorf("datadir: no existing parent of %s", d.root)
		}
		dir = parent
	}
	if err := probeDir(dir); err != nil {
		return fmt.Errorf("datadir: %w: %s", ErrNotWritable, explainNotWritable(d.root, dir, err))
	}
	if dir != filepath.Clean(d.root) {
		return nil
	}
	// What an earlier run left, say as root before the container ran as
	// 65532: SQLite opens wharf.db read-write, the servers write in
	// blobs/, auth/, tls/ and acme/.
	for _, p := range []string{d.Database(), d.Blobs(), d.Auth(), d.TLS(), d.ACME(), d.LockFile()} {
		if err := probe(p); err != nil {
			return fmt.Errorf("datadir: %w: %s", ErrNotWritable, explainNotWritable(d.root, p, err))
		}
	}
	return nil
}

// probeDir creates and removes a file in dir.
func probeDir(dir string) error {
	f, err := os.CreateTemp(dir, ".wharf-write-check-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// probe checks that path, if it exists, can be written: a directory by
// creating a file in it, a file by opening it for writing (which changes
// nothing).
func probe(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.IsDir():
		return probeDir(path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// explainNotWritable says who owns dir and who this process is, and how to
// give dir to it. root is the data directory, dir the path that was tried:
// root, the parent it would be created in, or something in it (then the
// whole tree is given).
func explainNotWritable(root, dir string, cause error) string {
	root = filepath.Clean(root)
	what, chown, target := dir, "chown", dir
	switch {
	case strings.HasPrefix(dir, root+string(filepath.Separator)):
		what = fmt.Sprintf("%s (in the data directory)", dir)
		chown, target = "chown -R", root
	case dir != root:
		what = fmt.Sprintf("%s (where %s would be created)", dir, root)
	}
	uid, gid := os.Getuid(), os.Getgid()
	owner, may := "", "create files in it"
	if fi, err := os.Stat(dir); err == nil {
		owner = fmt.Sprintf(" is owned by %s with mode %04o, and", ownerOf(fi), fi.Mode().Perm())
		if !fi.IsDir() {
			may = "write it"
		}
	}
	return fmt.Sprintf("%s%s this process runs as uid %d, gid %d, which may not %s (%v); "+
		"give the data directory to that user, e.g. `%s %d:%d %s` (65532:65532 is the container image's user), or run wharf as its owner",
		what, owner, uid, gid, may, reason(cause), chown, uid, gid, target)
}

// reason is the system's word for a failed file operation ("permission
// denied", "read-only file system"), without the path said already.
func reason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
