// Package webhook authenticates users and authorizes requests by asking an
// HTTP endpoint: one POST of a JSON document per question, one JSON answer
// (the schemas are in docs/auth.md and on the request and answer types
// here). It is the webhook variant of ext_auth and ext_authz, for those who
// would rather run a service than have wharf start a process per request.
//
// Every call has a timeout; the answer is bounded in size, decoded
// strictly (unknown fields, a missing result, trailing data are errors)
// and accepted only with status 200; redirects are not followed, so a
// password is never sent anywhere but the configured URL; HTTPS is
// verified against the system roots or a configured CA bundle. An optional
// secret header lets the endpoint recognise wharf; it travels as an
// auth.Secret and is never logged. Any failure is an error, which fails
// the token request: never a grant.
//
// It lives beside authn and authz rather than under them because it is an
// HTTP client, and authn's packages are free of net/http. It imports authn,
// authz, wharf/internal/auth and the standard library.
package webhook
