// Package oidc signs users in with OpenID Connect providers (any issuer,
// and Google, which is one with a hosted-domain rule) for the browser
// sign-in of wharf/internal/auth/oauthlogin: discovery on first use, the
// code flow with PKCE S256, the nonce checked in the ID token, the account
// from a configurable claim, labels from claims, and re-validation with
// the refresh token or the userinfo endpoint.
//
// Its Authenticator also accepts a raw ID token of a configured issuer and
// audience as the docker login password, for CI systems that hold one
// (workload identity): signature, iss, aud and exp are verified and the
// user claim must equal the user name.
//
// It imports oauthlogin, authn, wharf/internal/auth, go-oidc, oauth2 and
// the standard library; never config, the token server or the ACL.
package oidc
