// Package oauthlogin signs users in with a browser at an OAuth or OpenID
// Connect provider and turns the sign-in into a registry password, the way
// docker_auth's github_auth, gitlab_auth, google_auth and oidc_auth do:
// the user signs in at the provider, Wharf shows a generated password once
// (256 random bits; only its SHA-256 is kept), and docker login uses it.
// The user is checked with the provider again every revalidate_after, and
// the password is revoked when the provider no longer admits them.
//
// It owns the flow (state bound to an HttpOnly cookie, nonce, PKCE S256,
// single-use attempts), the pages, the Store of sign-ins (a SQLite file of
// its own for now, to move into the metadata database), the Authenticator
// that accepts the passwords, and the GitHub and GitLab providers (their
// REST APIs). OpenID Connect providers (generic and Google) live in
// wharf/internal/auth/oidc.
//
// It imports authn, wharf/internal/auth, errcode (the statuses of its
// error pages), golang.org/x/oauth2, the SQLite driver and the standard
// library; never config (the composition root
// translates the sections) nor the token server or the ACL.
package oauthlogin
