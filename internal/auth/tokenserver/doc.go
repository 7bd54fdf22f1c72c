// Package tokenserver is the token endpoint of the Docker token protocol:
// GET /auth (and /auth/token) with Basic credentials or none, and POST /auth
// with the OAuth2 password and refresh_token grants that containerd,
// buildkit and Docker's identity-token flow use.
//
// It authenticates with an authn.Authenticator, rate-limits failed logins
// (reserving before the password is checked; refresh tokens per address
// only) and anonymous requests (per address, and fewer scopes),
// asks an authz.Authorizer which of the requested actions to grant, and
// signs the answer with a token.Issuer. A backend that cannot decide (an
// error from either chain) gives 503 Service Unavailable, never a token,
// with a message naming no backend detail; the reason goes to the log. A
// full gate (password checks, external calls) gives 503 with Retry-After
// and is logged by the gate, once a minute. Its errors are errcode's codes,
// answered in the registry's error format with the OAuth2 members
// (errcode.WriteToken). It never logs a password or a token.
package tokenserver
