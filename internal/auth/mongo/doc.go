// Package mongo is docker_auth's MongoDB backend: the users of mongo_auth
// and the ACL rules of acl_mongo, read from collections of a MongoDB server
// (or anything speaking its protocol, FerretDB included). It owns the
// connection, the user store and the rule store.
//
// Connect opens the connection from docker_auth's dial_info settings: the
// addresses, the database, credentials checked in the source database,
// TLS, and a timeout that bounds connecting and every operation (so a
// server that stops answering fails a login instead of hanging it). Each
// section has a connection of its own.
//
// NewAuthenticator reads the users, one document per user,
//
//	{"username": "alice", "password": "$2y$05$…", "labels": {"group": ["dev"]}}
//
// looked up by exact username at every login, the password a bcrypt hash.
// A user the collection does not hold is NoMatch (the next backend is
// asked); two documents with the same username are an error (docker_auth
// keeps username unique with an index); a document without password admits
// only the anonymous user "". The rules shared with the other user stores
// (dummy comparison for unknown users, hash checks) are authn.Lookup's.
//
// NewACL reads the rules, one document per rule,
//
//	{"seq": 10, "match": {"account": "admin"}, "actions": ["*"], "comment": "…"}
//
// applied in ascending seq (a unique whole number every document must
// have), first match wins, with the configuration's ACL semantics, and
// reloaded every cache_ttl (authz.Stored, which fails closed when the
// rules grow stale). A document with an unknown key, a bad pattern, no seq
// or a repeated seq makes the load fail, so a typo never widens a rule.
//
// It imports the MongoDB Go driver, wharf/internal/auth, authn and authz;
// never config (authstack translates the sections), the token server, the
// server or the registry API.
package mongo
