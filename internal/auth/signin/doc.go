// Package signin signs users in with a browser at an OAuth or OpenID
// Connect provider and turns the sign-in into a registry password, the way
// docker_auth's github_auth, gitlab_auth, google_auth and oidc_auth do:
// the user signs in at the provider, Wharf shows a generated password once
// (256 random bits; only its SHA-256 is kept), and docker login uses it.
// The user is checked with the provider again every revalidate_after, and
// the password is revoked when the provider no longer admits them.
//
// It owns the flow (Login: state bound to an HttpOnly cookie, nonce, PKCE
// S256, single-use attempts kept through Attempts), the pages, the Store
// of sign-ins (the composition root implements both over the metadata
// database, shared by replicas; SQLiteStore reads the file of earlier
// releases for its one-time import), the Authenticator that accepts the
// passwords, and the providers behind the Provider interface:
//
//   - GitHub and GitLab, through their REST APIs;
//   - OIDC, any OpenID Connect issuer, and Google, which is one with a
//     hosted-domain rule: discovery on first use, the code flow with PKCE
//     S256, the nonce checked in the ID token, the account from a
//     configurable claim, labels from claims, and re-validation with the
//     refresh token or the userinfo endpoint.
//
// IDTokenAuthenticator also accepts a raw ID token of a configured issuer
// and audience as the docker login password, for CI systems that hold one
// (workload identity): signature, iss, aud and exp are verified and the
// user claim must equal the user name; other passwords go to the sign-in
// passwords' Authenticator.
//
// It imports wharf/internal/auth, authn, errcode (the statuses of its
// error pages), golang.org/x/oauth2, go-oidc, the SQLite driver and the
// standard library; never config (authstack translates the sections), the
// ACL, the token server, the server or the registry API.
package signin
