package testserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MariaDB is a MariaDB server started for tests: a fresh data directory in a
// temporary directory, listening on 127.0.0.1 at a random port, with its
// socket and pid file in that directory.
type MariaDB struct {
	// Addr is the server's TCP address, 127.0.0.1:port.
	Addr string
	// DSN is a go-sql-driver/mysql DSN for the database "wharf", as the
	// account "wharf" (which has a password).
	DSN string
	// LogPath is the server's log file.
	LogPath string

	dir, socket, password string
	proc                  *Process
	admin                 *sql.DB
	seq                   atomic.Int64
}

// mariadbStartTimeout bounds mariadb-install-db plus start-up on a slow,
// shared CI machine.
const mariadbStartTimeout = 60 * time.Second

// StartMariaDB starts a MariaDB server for t alone, stopped when t ends.
// Tests of one package that each need a database should share one server
// instead (Shared.MariaDB) and call NewDatabase.
func StartMariaDB(t testing.TB) *MariaDB {
	t.Helper()
	SkipIfShort(t)
	bins := mariadbBinaries(t)
	m, err := startMariaDB(t.TempDir(), bins)
	if m != nil {
		t.Cleanup(m.close)
	}
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// mariadbBins are the programs StartMariaDB runs.
type mariadbBins struct{ installDB, server string }

func mariadbBinaries(t testing.TB) mariadbBins {
	t.Helper()
	return mariadbBins{
		installDB: FindBinary(t, "mariadb-install-db (Debian package mariadb-server)", "/usr/bin/mariadb-install-db", "mariadb-install-db", "mysql_install_db"),
		server:    FindBinary(t, "MariaDB's server (Debian package mariadb-server)", "/usr/sbin/mariadbd", "mariadbd", "/usr/sbin/mysqld"),
	}
}

// startMariaDB makes a data directory in dir and starts the server. A
// non-nil MariaDB is returned whenever something needs closing, even with
// an error.
func startMariaDB(dir string, bins mariadbBins) (*MariaDB, error) {
	cred, err := runAs("mysql")
	if err != nil {
		return nil, err
	}
	port := freePort()
	if port == 0 {
		return nil, errors.New("mariadb: no free port")
	}
	m := &MariaDB{
		Addr:     net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		LogPath:  filepath.Join(dir, "mariadb.log"),
		dir:      dir,
		socket:   filepath.Join(dir, "mariadb.sock"),
		password: randomPassword(),
	}
	data := filepath.Join(dir, "data")
	if err := giveTo(dir, cred); err != nil {
		return nil, fmt.Errorf("mariadb: preparing %s: %w", dir, err)
	}
	// --no-defaults everywhere: nothing from /etc/mysql leaks in, so the
	// server has upstream's defaults (latin1 as the server character set,
	// among others) and the store must not rely on a friendlier setup.
	common := []string{"--no-defaults", "--datadir=" + data, "--skip-name-resolve",
		"--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0",
		"--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M"}
	install := exec.Command(bins.installDB, append(common,
		"--auth-root-authentication-method=normal", "--skip-test-db")...)
	install.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mariadb: mariadb-install-db: %v\n%s", err, out)
	}
	cmd := exec.Command(bins.server, append(common,
		"--bind-address=127.0.0.1",
		"--port="+strconv.Itoa(port),
		"--socket="+m.socket,
		"--pid-file="+filepath.Join(dir, "mariadb.pid"),
		"--max-connections=300",
		"--skip-log-bin")...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Dir = dir
	m.proc, err = start("mariadb", m.LogPath, cmd)
	if err != nil {
		return nil, err
	}
	// root has no password and connects through the socket only.
	admin, err := sql.Open("mysql", (&mysql.Config{User: "root", Net: "unix", Addr: m.socket,
		Timeout: 5 * time.Second, AllowNativePasswords: true}).FormatDSN())
	if err != nil {
		return m, err
	}
	m.admin = admin
	if err := m.proc.waitFor(mariadbStartTimeout, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return admin.PingContext(ctx)
	}); err != nil {
		return m, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, stmt := range []string{
		fmt.Sprintf("CREATE USER 'wharf'@'127.0.0.1' IDENTIFIED BY '%s'", m.password), // hex: nothing to escape
		"CREATE DATABASE wharf",
		"GRANT ALL PRIVILEGES ON wharf.* TO 'wharf'@'127.0.0.1'",
	} {
		if _, err := admin.ExecContext(ctx, stmt); err != nil {
			return m, fmt.Errorf("mariadb: %s: %w", firstWords(stmt), err)
		}
	}
	m.DSN = m.dsn("wharf")
	return m, nil
}

// dsn is the DSN of database db as the account "wharf".
func (m *MariaDB) dsn(db string) string {
	return (&mysql.Config{User: "wharf", Passwd: m.password, Net: "tcp", Addr: m.Addr, DBName: db,
		AllowNativePasswords: true}).FormatDSN()
}

// NewDatabase creates an empty database that the account "wharf" may use,
// dropped when t ends, and returns its DSN. Tests sharing a server each
// take their own.
func (m *MariaDB) NewDatabase(t testing.TB) string {
	t.Helper()
	name := databaseName(m.seq.Add(1), t)
	for _, stmt := range []string{
		fmt.Sprintf("CREATE DATABASE `%s`", name),
		fmt.Sprintf("GRANT ALL PRIVILEGES ON `%s`.* TO 'wharf'@'127.0.0.1'", name),
	} {
		if _, err := m.admin.ExecContext(t.Context(), stmt); err != nil {
			t.Fatalf("mariadb: %s: %v; log %s:\n%s", stmt, err, m.LogPath, Tail(m.LogPath, 20))
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := m.admin.ExecContext(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS `%s`", name)); err != nil {
			t.Errorf("mariadb: drop database %s: %v", name, err)
		}
	})
	return m.dsn(name)
}

// Password is the password of the account "wharf", for tests that check
// it never shows.
func (m *MariaDB) Password() string { return m.password }

// Stopped reports whether the server process has ended.
func (m *MariaDB) Stopped() bool { return m.proc == nil || m.proc.Exited() }

func (m *MariaDB) close() {
	if m.admin != nil {
		m.admin.Close()
	}
	if m.proc != nil {
		m.proc.stop()
	}
}
