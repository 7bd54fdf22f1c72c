// Package ldap authenticates users against an LDAP directory, the way
// docker_auth's ldap_auth does: search for the user's entry (as a service
// account, anonymously, or as the user with initial_bind_as_user), then bind
// as that entry with the password. Labels come from the entry's attributes
// and, beyond docker_auth, from a search for the groups the user is a member
// of.
//
// It owns the LDAP side only: escaping of every value put into a filter
// (RFC 4515) or a DN (RFC 4514), a bounded pool of connections that are
// re-dialled when they break, timeouts on dialling, the TLS handshake and
// every operation, and the rule that an empty password never reaches a bind
// (a simple bind with a DN and no password is an unauthenticated bind, which
// directories accept). A directory that cannot be reached is an error, which
// the authn.Chain turns into a denial with a log line, never an admission.
//
// It imports authn, wharf/internal/auth, go-ldap and the standard library;
// never config (the composition root translates ldap_auth) nor anything of
// wharf's that speaks HTTP.
package ldap
