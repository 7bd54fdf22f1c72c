// Package xormacl reads ACL rules from docker_auth's acl_xorm table with
// plain SQL:
//
//	xorm_acl_entry(acl_entry, seq)
//
// acl_entry the rule as JSON ({"Match": {...}, "Actions": [...],
// "Comment": "..."}, keys in any case as docker_auth's decoder reads
// them), applied in ascending seq, first match wins, with the
// configuration's ACL semantics, reloaded every cache_ttl
// (remoteacl.ACL). A row with an unknown key, a bad pattern, no seq or a
// repeated seq makes the load fail, so a typo never widens a rule.
//
// It imports remoteacl, authz and xormdb; never config.
package xormacl
