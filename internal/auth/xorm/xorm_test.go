package xorm_test

import (
	"database/sql"
	"os"
	"testing"
	"time"

	"wharf/internal/auth/xorm"
	"wharf/internal/testserver"
)

// servers are the PostgreSQL and MariaDB servers every test of the package
// shares, one fresh database each.
var servers testserver.Shared

func TestMain(m *testing.M) { os.Exit(servers.Run(m)) }

var types = []string{xorm.SQLite3, xorm.Postgres, xorm.MySQL}

// database is a fresh database of one type with docker_auth's tables.
type database struct {
	typ, conn string
	w         *sql.DB // for writing test data
}

func newDatabase(t *testing.T, typ string) database {
	t.Helper()
	d := database{typ: typ}
	d.conn, d.w = servers.XormDatabase(t, typ)
	return d
}

// open opens the database as wharf does; timeout bounds each query.
func (d database) open(t *testing.T, timeout time.Duration) *xorm.DB {
	t.Helper()
	db, err := xorm.Open(t.Context(), d.typ, d.conn, timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
