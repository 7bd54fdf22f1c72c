// Package dbusers authenticates the users and robot accounts kept in the
// metadata database (managed with `wharf user` and `wharf token`).
//
// A user logs in with its password (bcrypt) or with one of its access
// tokens; a robot account with its tokens only. Accepted accounts carry
// their own labels, their teams as the groups label, the wharf.source
// marker and, for a token login, the token's id in wharf.token, which the
// authorizer (authz/dbacl) uses to apply the token's scopes.
//
// Changes made in another process (the CLI) are seen on the next login:
// Fresh wraps the token server's login cache and purges it whenever the
// identity generation changes.
//
// It imports authn, auth and identity only (identity brings metadata and
// the ACL engine along, to validate rules); never net/http.
package dbusers
