// Package authz decides what an authenticated (or anonymous) client may do
// with a resource. It owns the Authorizer plug-in point, the Chain that asks
// authorizers in order, and the static ACL engine with cesanta/docker_auth's
// semantics: the first matching rule wins, its actions are intersected with
// the requested ones, and no match means deny.
//
// Rules are plain data (Rule, Match) decoded strictly from YAML: an unknown
// key, a rule without match or actions, a bad pattern or a bad address is a
// start-up error naming the line, never a rule that silently matches
// everyone. Lint flags rules that are valid but probably mistaken.
//
// Matching is docker_auth's: "/re/" is an unanchored regexp search, any
// other pattern a path.Match glob, placeholders are expanded first and their
// values regexp.QuoteMeta'd. Where wharf differs, it is towards refusing:
//
//   - Configurations docker_auth accepts but that can never work are
//     start-up errors: a null match or pattern, an unknown placeholder
//     (${acount}, or ${team}/${email} of old releases), a capture reference
//     ${account:N} to a field that is not a regex or has fewer groups, a
//     malformed glob, a label placeholder inside a labels pattern.
//   - Values from capture groups and label values are quoted like the
//     other placeholders (docker_auth inserts them raw, so a label value
//     "a*" was a wildcard).
//   - Whether a pattern is a regex is decided before expansion, so an
//     account named "/.*/" cannot turn "${account}" into a regex.
//   - A ${labels:KEY} placeholder for a label the account lacks does not
//     match (docker_auth compared the pattern with the placeholder left in
//     as text).
//   - Too many label combinations fail the request (ErrTooManyCombinations)
//     instead of running for as long as the product takes.
//
// Rules kept in another database (docker_auth's acl_mongo and acl_xorm)
// arrive as Entry values ({match, actions, comment} with a seq); ParseEntries
// reads them as strictly as the configuration's acl (an unknown or misspelt
// key is an error, never a silently wider match) and orders them by seq. Stored is the
// ACL over such a store, reloaded every TTL: a reload that fails keeps the
// rules loaded last for a while (one missed reload is tolerated), but once
// they are older than two reload intervals (plus the load timeout) every
// decision is an error (ErrStale), so the token server answers 503 rather
// than grant from rules it can no longer check. It never allows on
// failure. The stores themselves (wharf/internal/auth/mongo, …/xorm) read
// the entries: this package knows no database driver.
//
// This package must not import net/http, a storage or metadata package, or
// any authenticator, nor config (which embeds its rules): it imports the
// standard library, wharf/internal/auth, keyhint and gopkg.in/yaml.v3 only
// (deps_test.go checks).
package authz
