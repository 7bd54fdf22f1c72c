// Package xormauth authenticates users stored in docker_auth's xorm_auth
// table, read with plain SQL:
//
//	xorm_user(id, username, password_hash, labels)
//
// password_hash a bcrypt hash, labels a JSON object of label name to a
// list of values (or NULL). When a username appears in several rows the
// one with the highest id is used, as docker_auth does; names are compared
// byte for byte, also where the database's collation would ignore case or
// trailing spaces (MySQL). The anonymous user "" is never looked up
// (docker_auth's xorm_auth does not admit it). The rules shared with the
// other user stores are authn.Lookup's.
//
// It imports authn, auth and xormdb; never config.
package xormauth
