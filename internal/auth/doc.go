// Package auth is the shared vocabulary of authentication and authorization:
// who is asking (Identity), what they ask for (Access, parsed from the
// token protocol's scope strings), and the Secret type that never prints.
//
// The token issuer and verifier (auth/token), the token server
// (auth/tokenserver), the authenticators (auth/authn) and authorizers
// (auth/authz) all speak it. It imports the standard library only.
package auth
