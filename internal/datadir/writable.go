package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
	f, err := os.CreateTemp(dir, ".wharf-write-check-*")
	if err != nil {
		return fmt.Errorf("datadir: %w: %s", ErrNotWritable, explainNotWritable(d.root, dir, err))
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// explainNotWritable says who owns dir and who this process is, and how to
// give dir to it. root is the data directory, dir the one that was tried
// (root or the parent it would be created in).
func explainNotWritable(root, dir string, cause error) string {
	what := dir
	if dir != filepath.Clean(root) {
		what = fmt.Sprintf("%s (where %s would be created)", dir, root)
	}
	uid, gid := os.Getuid(), os.Getgid()
	owner := ""
	if fi, err := os.Stat(dir); err == nil {
		owner = fmt.Sprintf(" is owned by %s with mode %04o, and", ownerOf(fi), fi.Mode().Perm())
	}
	return fmt.Sprintf("%s%s this process runs as uid %d, gid %d, which may not create files in it (%v); "+
		"give the directory to that user, e.g. `chown %d:%d %s` (65532:65532 is the container image's user), or run wharf as its owner",
		what, owner, uid, gid, reason(cause), uid, gid, dir)
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
