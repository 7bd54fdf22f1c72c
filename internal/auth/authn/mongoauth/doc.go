// Package mongoauth authenticates users stored in a MongoDB collection,
// docker_auth's mongo_auth: one document per user,
//
//	{"username": "alice", "password": "$2y$05$…", "labels": {"group": ["dev"]}}
//
// looked up by exact username at every login, the password a bcrypt hash.
// A user the collection does not hold is NoMatch (the next backend is
// asked); two documents with the same username are an error (docker_auth
// keeps username unique with an index); a document without password
// admits only the anonymous user "". The rules shared with the other user
// stores (dummy comparison for unknown users, hash checks) are
// authn.Lookup's.
//
// It imports authn, auth, mongodb and the MongoDB driver; never config.
package mongoauth
