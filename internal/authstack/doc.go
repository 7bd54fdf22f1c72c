// Package authstack builds Wharf's authentication and authorization from
// a resolved configuration: everything the token server asks, and the
// pieces the commands and the admin API share with it. Read it to learn
// which backends exist, in which order they are asked, and what each opens.
//
//   - stack.go: the table of backend constructors (backends), in
//     docker_auth's order, and Build, which runs it with one closer
//     stack: a constructor that fails closes what those before it opened,
//     and Stack.Close closes everything, last opened first. Build wraps
//     the chains as the token server needs them: the login cache purged
//     by the database's generation, the guard over the authorizers, the
//     bare chain that confirms sessions, the login and anonymous limiters.
//   - users.go: the configured users with `wharf serve`'s built-in admin
//     (created on first start, reloaded when `wharf user passwd admin`
//     changes it), the configured ACL, the database's users and rules.
//   - signin.go, ldap.go, databases.go, external.go: the browser sign-ins,
//     LDAP, docker_auth's MongoDB and SQL backends, the external programs
//     and webhooks behind the external-call pool (limits.external_calls).
//   - signins.go: the sign-ins and the sign-ins in progress in the metadata
//     database, so that replicas share them; the one-time import of an
//     earlier release's sign-ins.db.
//   - token.go: the token endpoint itself (tokenserver) and, in `wharf
//     serve`, the verifier of its own tokens.
//   - tokenkeys.go, tokenrotate.go: the signing keys: the configured file,
//     or the set in the metadata database every replica shares (the first
//     generated or imported from an earlier release's token.key), re-read
//     when it changes; listing and rotating it (wharf token-key, the admin
//     API).
//   - verifier.go: the verifiers of `wharf registry` and of `wharf
//     doctor`, and the registry's start-up check of its realm.
//   - access.go, metadata.go, htpasswd.go: what the commands share with
//     the server: `wharf acl check`'s AccessCheck, the names reserved for
//     configured accounts (AccountOptions), the metadata database cfg
//     names (OpenMetadata), and `auth: htpasswd`'s login check.
//
// It is the only package that imports the concrete backends (auth/authn/…,
// auth/authz/…, auth/signin, auth/mongo, auth/xorm, auth/external);
// server, cli and doctor reach them through it. It never imports server or cli,
// and knows the data directory's layout only through datadir.
package authstack
