// Package auth is the shared vocabulary of authentication and authorization:
// who is asking (Identity), what they ask for (Access, parsed from the
// token protocol's scope strings), the Secret type that never prints, and
// the login Session a refresh token stands for (which the token server
// keeps through a store it is handed, without knowing the database).
//
// The token issuer and verifier (auth/token), the token server
// (auth/tokenserver), the authenticators (auth/authn) and authorizers
// (auth/authz) all speak it. It imports the standard library only.
package auth
