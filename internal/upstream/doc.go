// Package upstream is the client Wharf speaks to another registry with: the
// pull-through cache fetches through it, and replication and wharf copy are
// to reuse it. It answers the upstream's challenge (Bearer with a scope per
// repository, Basic, or none) with the credentials it is given (asked again
// at each token request when they come from a function, so that a change
// needs no new client), trusts the CA it is given, and records the
// upstream's rate-limit headers.
//
// The challenge and the token exchange are go-containerregistry's
// remote/transport (Ping, Exchange), which every registry client in the
// ecosystem (crane, ko, cosign) exercises against Docker Hub, GHCR, ECR and
// distribution, with its guard against token services on private
// addresses. Its Bearer transport is not used: it ignores a token's
// expires_in and asks for a new token at each request the upstream
// refuses, so that after an expiry every concurrent request asks for one.
// This package keeps one token per repository's pull scope (one image's
// token never grants another's) until shortly before it expires, shares
// one token request among the concurrent requests of a scope, replaces a
// token the upstream refuses once, and never sends it to another host (a
// blob's redirect). Around it: timeouts, errors that say which upstream
// answered what, and credentials that never reach a log or an error.
//
// It imports neither config, metadata, storage nor registry: the
// composition root hands it Options.
package upstream
