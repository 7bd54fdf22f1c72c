// Package upstream is the client Wharf speaks to another registry with: the
// pull-through cache fetches through it, and replication and wharf copy are
// to reuse it. It answers the upstream's challenge (Bearer with a scope per
// repository, Basic, or none) with the credentials it is given, keeps each
// repository's token until the upstream refuses it, trusts the CA it is
// given, and records the upstream's rate-limit headers.
//
// The handshake is go-containerregistry's remote/transport, which every
// registry client in the ecosystem (crane, ko, cosign) exercises against
// Docker Hub, GHCR, ECR and distribution; this package adds what a server
// needs around it: one transport per repository (so that one image's token
// never grants another's), timeouts, errors that say which upstream
// answered what, and credentials that never reach a log or an error.
//
// It imports neither config, metadata, storage nor registry: the
// composition root hands it Options.
package upstream
