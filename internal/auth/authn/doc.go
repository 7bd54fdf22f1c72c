// Package authn decides who a client is. It owns the Authenticator
// plug-in point and its tri-state answer (Accepted, WrongPassword,
// NoMatch), the Chain that asks backends in order with docker_auth's
// semantics, the session stamps that let a backend confirm an account
// without its password (Confirmer), a cache of verified credentials, a
// login rate limiter whose logins reserve their tokens before the password
// is checked, a per-address limiter of anonymous requests, and Lookup, the
// authenticator over a user store queried at every login.
//
// The bcrypt rules every password backend shares (accepted hashes, the
// comparison and its process-wide bound, the dummy hash for unknown users)
// are in auth/password, a leaf that the account database uses too.
//
// Backends live in sub-packages (static, htpasswd, …) and import only this
// package, wharf/internal/auth, auth/password and their own SDK; authntest
// is the conformance suite every backend runs.
//
// Nothing here logs a password, wraps one into an error, or stores one:
// passwords travel as auth.Secret and are only revealed to bcrypt and to
// the cache's HMAC. This package and its sub-packages must not import
// net/http (the token server turns results into responses, including 429
// for the limiter and 503 for a full password gate), nor authz, storage or
// metadata; besides wharf/internal/auth and auth/password they may import
// wharf/internal/gate.
package authn
