package metadata

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
)

// sqliteFileMode is the mode of a SQLite database file the store creates:
// it holds password, refresh-token and access-token hashes, and is nobody
// else's to read. SQLite creates its -wal and -shm files with the
// database file's mode (and chmods them to it, whatever the umask), so this
// one decides all three; left to SQLite, a new database is 0644.
const sqliteFileMode fs.FileMode = 0o600

// prepareSQLiteFile creates the database file with sqliteFileMode before
// SQLite opens it, and takes group and other permissions away from an
// existing one (and its -wal and -shm files) that an earlier version
// created readable by all, saying so in the log. A file whose mode cannot
// be changed (another owner) is logged and left as it is: the database
// still opens.
func prepareSQLiteFile(path string, log *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, sqliteFileMode)
	if err == nil {
		// The umask may have narrowed the mode, never widened it.
		return f.Close()
	}
	if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("metadata: sqlite: %w (its directory must exist and be writable)", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		was, now := fi.Mode().Perm(), fi.Mode().Perm()&^0o077
		if err := os.Chmod(p, now); err != nil {
			log.Warn(fmt.Sprintf("%s is open to group or others (mode %04o) and its mode cannot be changed: run chmod 600 %s as its owner", p, was, p),
				"file", p, "err", err)
			continue
		}
		log.Warn(fmt.Sprintf("%s was open to group or others (mode %04o), now %04o: it holds password and token hashes", p, was, now),
			"file", p)
	}
	return nil
}
