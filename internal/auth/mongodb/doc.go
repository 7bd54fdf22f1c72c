// Package mongodb connects to the MongoDB server that mongo_auth and
// acl_mongo read, from docker_auth's dial_info settings: the addresses, the
// database, credentials checked in the source database, TLS, and a timeout
// that bounds connecting and every operation (so a server that stops
// answering fails a login instead of hanging it).
//
// It owns the connection only; the documents are read by
// authn/mongoauth and authz/mongoacl. It imports the MongoDB Go driver,
// wharf/internal/auth (for the password's Secret type) and the standard
// library; never config (the composition root translates dial_info).
package mongodb
