// Package adminapi is Wharf's admin HTTP API: JSON under /api/v1/ for the
// operations of `wharf user`, `wharf team`, `wharf acl` and `wharf token`,
// for automation and for a web interface (not built yet). It owns the
// routes, the strict decoding of request bodies, the map from accounts and
// metadata errors to errcode's admin codes (rendered by
// errcode.WriteAdmin), and the check that a caller holds the admin scope
// (admin:api:*).
//
// It performs no account operation of its own: every change goes through
// accounts.Service, the same calls the CLI makes, and every login through
// the token server's authenticator chain, authorizer chain and rate
// limiter, handed in by the composition root (internal/server). The
// document docs/api/openapi.yaml describes what it serves; a test keeps the
// two in agreement.
//
// It imports the standard library, auth, authn, authz, auth/token,
// accounts (the operations, and the explanations of decisions), metadata,
// gate, edge and errcode; never server, cli or ociapi.
package adminapi
