// Package authn decides who a client is. It owns the Authenticator
// plug-in point and its tri-state answer (Accepted, WrongPassword,
// NoMatch), the Chain that asks backends in order with docker_auth's
// semantics, the bcrypt helpers every password backend uses (so that an
// unknown user costs as much time as a wrong password), a cache of verified
// credentials, and a login rate limiter.
//
// Backends live in sub-packages (static, htpasswd, …) and import only this
// package, wharf/internal/auth and their own SDK; authntest is the
// conformance suite every backend runs.
//
// Nothing here logs, wraps into an error, or stores a password: passwords
// travel as auth.Secret and are only revealed to bcrypt and to the cache's
// HMAC. This package and its sub-packages must not import net/http (the
// token server turns results into responses, including 429 for the
// limiter), nor authz, storage or metadata.
package authn
