package testserver

import (
	"database/sql"
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
