// Package mongoacl reads ACL rules from a MongoDB collection, docker_auth's
// acl_mongo: one document per rule,
//
//	{"seq": 10, "match": {"account": "admin"}, "actions": ["*"], "comment": "…"}
//
// applied in ascending seq (a unique whole number every document must
// have), first match wins, with the configuration's ACL semantics, and
// reloaded every cache_ttl (remoteacl.ACL). A document with an unknown key,
// a bad pattern, no seq or a repeated seq makes the load fail, so a typo
// never widens a rule.
//
// It imports remoteacl, authz, mongodb and the MongoDB driver; never config.
package mongoacl
