// Package dbacl authorizes with what the metadata database holds: the ACL
// rules managed with `wharf acl` (ACL, an authz.Authorizer reloaded when
// the identity generation changes), and the Guard that wraps the whole
// authorizer chain of the token server to apply the database's view of an
// identity: current teams and labels of database accounts, no access for a
// disabled or removed account or a revoked or expired token, and a token's
// scopes cutting down what the rules grant (grant = ACL ∩ token scopes).
//
// Explain answers `wharf acl check` and the admin API's /acl/check: which
// rule of which layer decided, and what a token's scopes kept; Identify
// says where the account of such a check comes from and which labels it
// logs in with.
//
// It imports authz, auth and identity only (identity brings metadata and
// the bcrypt helpers of authn along); never net/http or an authenticator.
package dbacl
