// Package upstreamcreds keeps the pull-through cache's credentials for its
// upstreams in the metadata database, so that an operator sets and rotates
// them (wharf mirror credentials, the admin API) without editing files or
// restarting, as Harbor keeps a registry endpoint's credential.
//
// The password is sealed with AES-256-GCM under a key that never enters
// the database: a file beside the server's other keys in the data
// directory (auth/upstream-credentials.key, made on first use), or the
// file proxy.credentials_key_file names, which replicas sharing one
// database must all be given. A copy of the database alone reveals no
// password. The seal binds the upstream's name and the username, so a row
// copied to another upstream does not open; each row names its key by a
// fingerprint, so a server with another key says which one it needs
// instead of failing upstream with a wrong password.
//
// Nothing here prints, logs or returns a password: a Credential's
// Password is an auth.Secret, and every error names upstreams, key files
// and fingerprints only.
//
// It imports metadata (the table), auth (Secret) and the standard library,
// never config, server or the cache: the composition root hands it paths
// and names.
package upstreamcreds
