// Package accounts owns the account database: the users, robot accounts,
// teams, ACL rules, access tokens and login sessions kept in the metadata
// database, the operations on them that `wharf user|team|acl|token|session`
// and the admin API (adminapi) call (name and password validation, bcrypt
// hashing, token generation and hashing, rule validation, the JSON views),
// and the authenticator and authorizer that the token server asks about
// them.
//
// A running server reads them through Live, which holds an immutable
// Snapshot and reloads it only when the database's identity generation
// changes (every change bumps it in its own transaction), so a change made
// by another process takes effect on the next request without a restart.
// Over it:
//
//   - Authenticator checks passwords and access tokens of database users
//     (authenticator.go); Fresh purges the token server's login cache when
//     the generation moves;
//   - ACL is the database's rules, and Guard wraps the token server's whole
//     authorizer chain with the database's current view of an identity
//     (authorizer.go);
//   - Explain and Identify answer `wharf acl check` (explain.go);
//   - SessionStore keeps the token server's refresh tokens (sessions.go).
//
// Tokens are "wharf_" + a public id + "_" + 256 random bits. They are shown
// once; only their SHA-256 is stored, and checked in constant time.
//
// It sits above the auth engines: it imports the standard library,
// metadata, auth, auth/authn (the authenticator contract), auth/authz (the
// authorizer contract and the rule engine, to validate rules and token
// scopes) and auth/password (bcrypt); never net/http, and nothing under
// internal/auth imports it.
package accounts
