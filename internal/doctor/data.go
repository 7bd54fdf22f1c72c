package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"wharf/internal/config"
	"wharf/internal/metadata"
)

// checkData checks that the data directory is writable and the metadata
// database opens.
func checkData(ctx context.Context, r *Report, s Setup) {
	for _, c := range []*config.Config{s.Serve, s.Registry} {
		if c == nil {
			continue
		}
		if err := writable(c.Data); err != nil {
			r.Fail("data directory", err.Error(), "create it and give the user running wharf write access (chown/chmod), or change data")
			continue
		}
		r.Pass("data directory", c.Data+" is writable")
		db := filepath.Join(c.Data, "wharf.db")
		if _, err := os.Stat(db); errors.Is(err, fs.ErrNotExist) {
			r.Pass("metadata database", db+" does not exist yet; wharf creates it on first start")
			continue
		}
		st, err := metadata.Open(ctx, "sqlite", db, nil)
		if err != nil {
			r.Fail("metadata database", err.Error(), "restore wharf.db from a backup, or check its permissions")
			continue
		}
		err = st.Ping(ctx)
		st.Close()
		if err != nil {
			r.Fail("metadata database", err.Error(), "check the database file and its permissions")
			continue
		}
		r.Pass("metadata database", db+" opens")
	}
}

// writable creates and removes a file in dir, or in the nearest existing
// parent when dir does not exist yet (the server creates it).
func writable(dir string) error {
	for {
		if _, err := os.Stat(dir); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return fmt.Errorf("no existing parent of %s", dir)
		}
		dir = parent
	}
	f, err := os.CreateTemp(dir, ".doctor-*")
	if err != nil {
		return fmt.Errorf("%s is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}
