package testserver

import (
	"database/sql"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// XormSchema returns the statements that create docker_auth's xorm_auth
// and acl_xorm tables as its xorm library does (Sync2 of XormUser and
// XormACLEntry) on databaseType: sqlite3, postgres or mysql.
func XormSchema(databaseType string) []string {
	switch databaseType {
	case "postgres":
		return []string{
			`CREATE TABLE IF NOT EXISTS "xorm_user" ("id" BIGSERIAL PRIMARY KEY NOT NULL, "username" VARCHAR(128) NOT NULL, "password_hash" VARCHAR(128) NOT NULL, "labels" TEXT NULL)`,
			`CREATE TABLE IF NOT EXISTS "xorm_acl_entry" ("acl_entry" TEXT NULL, "seq" BIGINT NULL)`,
		}
	case "mysql":
		return []string{
			"CREATE TABLE IF NOT EXISTS `xorm_user` (`id` BIGINT(20) PRIMARY KEY AUTO_INCREMENT NOT NULL, `username` VARCHAR(128) NOT NULL, `password_hash` VARCHAR(128) NOT NULL, `labels` TEXT NULL) DEFAULT CHARSET utf8mb4",
			"CREATE TABLE IF NOT EXISTS `xorm_acl_entry` (`acl_entry` TEXT NULL, `seq` BIGINT(20) NULL) DEFAULT CHARSET utf8mb4",
		}
	}
	return []string{
		"CREATE TABLE IF NOT EXISTS `xorm_user` (`id` INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, `username` TEXT NOT NULL, `password_hash` TEXT NOT NULL, `labels` TEXT NULL)",
		"CREATE TABLE IF NOT EXISTS `xorm_acl_entry` (`acl_entry` TEXT NULL, `seq` INTEGER NULL)",
	}
}

// OpenSQLite opens (creating) an SQLite file for writing test data, closed
// when the test ends.
func OpenSQLite(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// XormDatabase makes an empty database with docker_auth's xorm tables for
// databaseType (sqlite3, postgres or mysql): an SQLite file in the test's
// temporary directory, or a new database on the shared PostgreSQL or
// MariaDB server. It returns the SQLite file's path or the server's DSN,
// and a connection for writing test data, closed when the test ends.
func (s *Shared) XormDatabase(t testing.TB, databaseType string) (conn string, w *sql.DB) {
	t.Helper()
	driver := ""
	switch databaseType {
	case "postgres":
		conn, driver = s.Postgres(t).NewDatabase(t), "pgx"
	case "mysql":
		conn, driver = s.MariaDB(t).NewDatabase(t), "mysql"
	default:
		conn = filepath.Join(t.TempDir(), "auth.db")
		w = OpenSQLite(t, conn)
	}
	if driver != "" {
		db, err := sql.Open(driver, conn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		w = db
	}
	for _, stmt := range XormSchema(databaseType) {
		if _, err := w.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	return conn, w
}
