package testserver

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Shared starts each kind of database server at most once and shares it
// between the tests of one package, each test taking its own fresh database
// with NewDatabase: starting a server costs seconds, creating a database
// milliseconds. The package declares one and hands TestMain to it:
//
//	var servers testserver.Shared
//
//	func TestMain(m *testing.M) { os.Exit(servers.Run(m)) }
//
//	func TestX(t *testing.T) {
//		dsn := servers.Postgres(t).NewDatabase(t)
//		…
//	}
//
// The servers start on first use, log under one temporary directory and are
// stopped when the package's tests end; the directory is removed when they
// all passed and kept (its path printed) otherwise.
type Shared struct {
	mu       sync.Mutex
	dir      string
	pg       *Postgres
	pgErr    error
	maria    *MariaDB
	mariaErr error
}

// Run runs the package's tests, then stops the servers. Its result is the
// test binary's exit code.
func (s *Shared) Run(m *testing.M) int {
	code := m.Run()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pg != nil {
		s.pg.close()
	}
	if s.maria != nil {
		s.maria.close()
	}
	if s.dir != "" {
		if code == 0 {
			_ = os.RemoveAll(s.dir)
		} else {
			fmt.Fprintf(os.Stderr, "testserver: server data and logs kept in %s\n", s.dir)
		}
	}
	return code
}

// Postgres returns the package's PostgreSQL server, starting it on first
// use. If it could not start, every test asking for it fails with the reason.
func (s *Shared) Postgres(t testing.TB) *Postgres {
	t.Helper()
	SkipIfShort(t)
	bins := postgresBinaries(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pg == nil && s.pgErr == nil {
		var dir string
		if dir, s.pgErr = s.subdir("postgres"); s.pgErr == nil {
			s.pg, s.pgErr = startPostgres(dir, bins)
		}
		if s.pgErr != nil && s.pg == nil {
			s.pg = &Postgres{} // remember the failure; nothing to close
		}
	}
	if s.pgErr != nil {
		t.Fatalf("shared PostgreSQL server: %v", s.pgErr)
	}
	return s.pg
}

// MariaDB returns the package's MariaDB server, starting it on first use.
// If it could not start, every test asking for it fails with the reason.
func (s *Shared) MariaDB(t testing.TB) *MariaDB {
	t.Helper()
	SkipIfShort(t)
	bins := mariadbBinaries(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.maria == nil && s.mariaErr == nil {
		var dir string
		if dir, s.mariaErr = s.subdir("mariadb"); s.mariaErr == nil {
			s.maria, s.mariaErr = startMariaDB(dir, bins)
		}
		if s.mariaErr != nil && s.maria == nil {
			s.maria = &MariaDB{}
		}
	}
	if s.mariaErr != nil {
		t.Fatalf("shared MariaDB server: %v", s.mariaErr)
	}
	return s.maria
}

// subdir makes a directory for one server under the shared temporary
// directory. Called with s.mu held.
func (s *Shared) subdir(name string) (string, error) {
	if s.dir == "" {
		dir, err := os.MkdirTemp("", "wharf-testserver-")
		if err != nil {
			return "", err
		}
		s.dir = dir
	}
	dir := filepath.Join(s.dir, name)
	return dir, os.Mkdir(dir, 0o700)
}
