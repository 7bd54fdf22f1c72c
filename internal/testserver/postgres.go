package testserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// Postgres is a PostgreSQL server started for tests: a fresh cluster in a
// temporary directory, listening on 127.0.0.1 at a random port, with its
// unix socket in that directory.
type Postgres struct {
	// Addr is the server's TCP address, 127.0.0.1:port.
	Addr string
	// DSN is a URL for the database "wharf", as the account "wharf" (which
	// has a password and may create databases).
	DSN string
	// LogPath is the server's log file.
	LogPath string

	dir, password string
	port          int
	proc          *Process
	admin         *sql.DB
	seq           atomic.Int64
}

// postgresStartTimeout bounds initdb plus start-up on a slow, shared CI
// machine.
const postgresStartTimeout = 60 * time.Second

// StartPostgres starts a PostgreSQL server for t alone, stopped when t
// ends. Tests of one package that each need a database should share one
// server instead (Shared.Postgres) and call NewDatabase.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	SkipIfShort(t)
	bins := postgresBinaries(t)
	p, err := startPostgres(t.TempDir(), bins)
	if p != nil {
		t.Cleanup(p.close)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// postgresBins are the programs StartPostgres runs.
type postgresBins struct{ initdb, postgres string }

func postgresBinaries(t testing.TB) postgresBins {
	t.Helper()
	return postgresBins{
		initdb:   FindBinary(t, "PostgreSQL's initdb (Debian package postgresql)", "/usr/lib/postgresql/*/bin/initdb", "initdb"),
		postgres: FindBinary(t, "PostgreSQL's server (Debian package postgresql)", "/usr/lib/postgresql/*/bin/postgres", "postgres"),
	}
}

// startPostgres makes a cluster in dir and starts it. A non-nil Postgres is
// returned whenever something needs closing, even with an error.
func startPostgres(dir string, bins postgresBins) (*Postgres, error) {
	cred, err := runAs("postgres")
	if err != nil {
		return nil, err
	}
	p := &Postgres{dir: dir, password: randomPassword(), port: freePort()}
	if p.port == 0 {
		return nil, errors.New("postgres: no free port")
	}
	p.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port))
	p.LogPath = filepath.Join(dir, "postgres.log")
	data := filepath.Join(dir, "data")
	pwfile := filepath.Join(dir, "superuser-password")
	if err := os.WriteFile(pwfile, []byte(p.password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := giveTo(dir, cred); err != nil {
		return nil, fmt.Errorf("postgres: preparing %s: %w", dir, err)
	}
	// The default collation is a linguistic one (ICU's en-US, as a
	// database created with en_US.UTF-8 would have), under which "B" sorts
	// between "a" and "c": code that needs byte order must ask for it.
	// Local (socket) connections are trusted, TCP ones need the password,
	// as in production.
	initdb := exec.Command(bins.initdb, "-D", data, "-U", "postgres", "--pwfile", pwfile,
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
		"--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=en-US",
		"--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("postgres: initdb: %v\n%s", err, out)
	}
	cmd := exec.Command(bins.postgres, "-D", data,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port="+strconv.Itoa(p.port),
		"-c", "unix_socket_directories="+dir,
		// A test cluster is thrown away: durability buys nothing.
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=300",
		"-c", "shared_buffers=32MB",
		"-c", "log_min_duration_statement=-1",
		"-c", "log_line_prefix=%m [%p] %q%u@%d ")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Dir = dir
	p.proc, err = start("postgres", p.LogPath, cmd)
	if err != nil {
		return nil, err
	}
	admin, err := sql.Open("pgx", fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable connect_timeout=5", dir, p.port))
	if err != nil {
		return p, err
	}
	p.admin = admin
	if err := p.proc.waitFor(postgresStartTimeout, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return admin.PingContext(ctx)
	}); err != nil {
		return p, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, stmt := range []string{
		fmt.Sprintf("CREATE ROLE wharf LOGIN CREATEDB PASSWORD '%s'", p.password), // hex: nothing to escape
		"CREATE DATABASE wharf OWNER wharf",
	} {
		if _, err := admin.ExecContext(ctx, stmt); err != nil {
			return p, fmt.Errorf("postgres: %s: %w", firstWords(stmt), err)
		}
	}
	p.DSN = p.dsn("wharf")
	return p, nil
}

// dsn is the URL of database db as the account "wharf".
func (p *Postgres) dsn(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword("wharf", p.password),
		Host:     p.Addr,
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// NewDatabase creates an empty database owned by the account "wharf",
// dropped when t ends, and returns its URL. Tests sharing a server each
// take their own.
func (p *Postgres) NewDatabase(t testing.TB) string {
	t.Helper()
	name := databaseName(p.seq.Add(1), t)
	if _, err := p.admin.ExecContext(t.Context(), fmt.Sprintf(`CREATE DATABASE "%s" OWNER wharf`, name)); err != nil {
		t.Fatalf("postgres: create database %s: %v; log %s:\n%s", name, err, p.LogPath, Tail(p.LogPath, 20))
	}
	t.Cleanup(func() {
		// The test's own connections are closed by now (cleanups run last
		// registered first); FORCE ends any it leaked.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := p.admin.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS "%s" WITH (FORCE)`, name)); err != nil {
			t.Errorf("postgres: drop database %s: %v", name, err)
		}
	})
	return p.dsn(name)
}

// Password is the password of the account "wharf", for tests that check
// it never shows.
func (p *Postgres) Password() string { return p.password }

// Stopped reports whether the server process has ended.
func (p *Postgres) Stopped() bool { return p.proc == nil || p.proc.Exited() }

// Kill ends the server at once (SIGKILL to its process group), for tests
// of a database that goes away under its clients; the test's clean-up is
// then a no-op.
func (p *Postgres) Kill() {
	if p.proc != nil {
		p.proc.kill()
	}
}

func (p *Postgres) close() {
	if p.admin != nil {
		p.admin.Close()
	}
	if p.proc != nil {
		p.proc.stop()
	}
}

// firstWords shortens a statement for an error message (and keeps
// passwords out of it).
func firstWords(stmt string) string {
	n := 0
	for i, r := range stmt {
		if r == ' ' {
			if n++; n == 3 {
				return stmt[:i]
			}
		}
	}
	return stmt
}

// freePort is FreePort without a test; 0 when none could be had.
func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
