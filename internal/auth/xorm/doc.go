// Package xorm is docker_auth's SQL backend: the users of xorm_auth and the
// ACL rules of acl_xorm, kept in the tables docker_auth's xorm library
// creates. It owns the connection, the user store and the rule store.
//
// Open connects from docker_auth's database_type (sqlite3, postgres, mysql)
// and conn_string, with the drivers wharf already has: modernc.org/sqlite,
// pgx and go-sql-driver/mysql. docker_auth reads these tables through the
// xorm library; wharf reads the same tables with plain SQL and never
// creates, alters or writes them (SQLite files are opened query-only).
// Connection strings may hold a password: no error of this package quotes
// one.
//
// NewAuthenticator reads the users,
//
//	xorm_user(id, username, password_hash, labels)
//
// password_hash a bcrypt hash, labels a JSON object of label name to a list
// of values (or NULL). When a username appears in several rows the one with
// the highest id is used, as docker_auth does; names are compared byte for
// byte, also where the database's collation would ignore case or trailing
// spaces (MySQL). The anonymous user "" is never looked up (docker_auth's
// xorm_auth does not admit it). The rules shared with the other user stores
// are authn.Lookup's.
//
// NewACL reads the rules,
//
//	xorm_acl_entry(acl_entry, seq)
//
// acl_entry the rule as JSON ({"Match": {...}, "Actions": [...], "Comment":
// "..."}, keys in any case as docker_auth's decoder reads them), applied in
// ascending seq, first match wins, with the configuration's ACL semantics,
// reloaded every cache_ttl (authz.Stored, which fails closed when the rules
// grow stale). A row with an unknown key, a bad pattern, no seq or a
// repeated seq makes the load fail, so a typo never widens a rule.
//
// It imports the three drivers, wharf/internal/auth, authn and authz; never
// config (authstack translates the sections), net/http, the token server,
// the server or the registry API.
package xorm
