// Package xormdb opens the SQL database that xorm_auth and acl_xorm read,
// from docker_auth's database_type (sqlite3, postgres, mysql) and
// conn_string, with the drivers wharf already has: modernc.org/sqlite,
// pgx and go-sql-driver/mysql. docker_auth reads these tables through the
// xorm library; wharf reads the same tables with plain SQL and never
// creates, alters or writes them (SQLite files are opened query-only).
//
// Connection strings may hold a password: no error of this package quotes
// one. It imports the three drivers and the standard library; never config.
package xormdb
