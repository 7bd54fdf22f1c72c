// Package authn decides who a client is. It owns the Authenticator
// plug-in point and its tri-state answer (Accepted, WrongPassword,
// NoMatch), the Chain that asks backends in order with docker_auth's
// semantics, the bcrypt helpers every password backend uses (so that an
// unknown user costs as much time as a wrong password, and so that the
// process runs at most limits.password_checks comparisons at once), a
// cache of verified credentials, a login rate limiter whose logins reserve
// their tokens before the password is checked, and a per-address limiter of
// anonymous requests.
//
// Backends live in sub-packages (static, htpasswd, …) and import only this
// package, wharf/internal/auth and their own SDK; authntest is the
// conformance suite every backend runs.
//
// Nothing here logs a password, wraps one into an error, or stores one:
// passwords travel as auth.Secret and are only revealed to bcrypt and to
// the cache's HMAC. This package and its sub-packages must not import
// net/http (the token server turns results into responses, including 429
// for the limiter and 503 for a full password gate), nor authz, storage or
// metadata; besides wharf/internal/auth they may import wharf/internal/gate.
package authn
