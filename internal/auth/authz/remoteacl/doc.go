// Package remoteacl holds what the ACL backends that read rules from
// another database (acl_mongo, acl_xorm) share: turning a stored entry in
// docker_auth's shape ({match, actions, comment} with a seq) into an
// authz.Rule as strictly as the configuration's acl (an unknown or
// misspelt key is an error, never a silently wider match), ordering the
// entries by seq, and an ACL that is reloaded periodically.
//
// A reload that fails keeps the rules loaded last, for a while: one missed
// reload is tolerated, but once the rules are older than two reload
// intervals (plus the load timeout) every decision is an error, so the
// token server answers 503 rather than grant from rules it can no longer
// check. It never allows on failure.
//
// It imports authz, auth, yaml.v3 and the standard library; never a
// database driver (its callers read the entries).
package remoteacl
