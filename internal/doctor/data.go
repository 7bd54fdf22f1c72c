package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"wharf/internal/authstack"
	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/metadata"
)

// checkData checks that the data directory is writable and the metadata
// database opens.
func checkData(ctx context.Context, r *Report, s Setup) {
	for _, c := range []*config.Config{s.Serve, s.Registry} {
		if c == nil {
			continue
		}
		if err := datadir.New(c.Data).Writable(); err != nil {
			r.Fail("data directory", err.Error(), "give the directory to the user running wharf (the error names the chown), or change data")
		} else {
			r.Pass("data directory", c.Data+" is writable")
		}
		checkDatabase(ctx, r, *c)
	}
}

// databaseTimeout bounds the database check, connection included.
const databaseTimeout = 30 * time.Second

// checkDatabase opens the metadata database the server would
// (authstack.MetadataSource; applying pending migrations, as the server's
// start would, but creating no data directory) and reads
// its schema version. Messages show the DSN without its password.
func checkDatabase(ctx context.Context, r *Report, c config.Config) {
	const check = "metadata database"
	driver, dsn, err := authstack.MetadataSource(c)
	if err != nil {
		r.Fail(check, err.Error(), "make database.dsn_file readable by the user running wharf, holding the DSN")
		return
	}
	fix := "check database.dsn: host, port, user, password and database name, and that the server accepts connections from this host"
	if driver == config.DriverSQLite {
		if _, err := os.Stat(dsn); errors.Is(err, fs.ErrNotExist) {
			r.Pass(check, dsn+" does not exist yet; wharf creates it on first start")
			return
		}
		fix = "restore " + filepath.Base(dsn) + " from a backup, or check its permissions"
	}
	where := driver + " " + config.RedactDSN(dsn)
	ctx, cancel := context.WithTimeout(ctx, databaseTimeout)
	defer cancel()
	st, err := metadata.Open(ctx, driver, dsn, nil)
	if err != nil {
		r.Fail(check, where+": "+err.Error(), fix)
		return
	}
	defer st.Close()
	if err := st.Ping(ctx); err != nil {
		r.Fail(check, where+": "+err.Error(), fix)
		return
	}
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		r.Fail(check, where+": "+err.Error(), fix)
		return
	}
	r.Pass(check, fmt.Sprintf("%s opens (schema version %d)", where, v))
}
