// Package identity owns the users, teams, ACL rules and access tokens kept
// in the metadata database, and the operations on them that `wharf user`,
// `wharf team`, `wharf acl` and `wharf token` and the admin API (adminapi)
// call: name and password validation, bcrypt hashing, token generation and
// hashing, rule validation.
//
// A running server reads them through Live, which holds an immutable
// Snapshot and reloads it only when the database's identity generation
// changes (every change bumps it in its own transaction), so a change made
// by another process takes effect on the next request without a restart.
// The authenticator (authn/dbusers) and the authorizer (authz/dbacl) over
// that data live in their own packages.
//
// Tokens are "wharf_" + a public id + "_" + 256 random bits. They are shown
// once; only their SHA-256 is stored, and checked in constant time.
//
// It imports the standard library, metadata, auth, authn (bcrypt helpers)
// and authz (to validate rules and token scopes); never net/http.
package identity
