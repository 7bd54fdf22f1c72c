// Package token issues and verifies the JSON Web Tokens of the Docker token
// protocol (https://distribution.github.io/distribution/spec/auth/jwt/):
// the bearer tokens a token server hands to clients and a registry checks
// on every request.
//
// It owns:
//   - key material: PEM private keys, certificate chains, public keys and
//     JWK Sets (keys.go, jwks.go), key generation and self-signed
//     certificates for first start;
//   - key ids: the RFC 7638 thumbprint wharf emits and the docker/libtrust
//     fingerprint that cesanta/docker_auth and distribution v2 use;
//   - the Issuer, which signs tokens with JWS via go-jose (never by hand);
//   - the Verifier, which accepts only tokens signed by a trusted key with
//     an allowed asymmetric algorithm, for the configured issuer and
//     service, inside their validity window;
//   - CheckTrust, the start-up diagnosis of a root bundle that does not
//     contain the token-signing certificate.
//
// It speaks the shared vocabulary of package auth (auth.Access). It must not
// import net/http or any other wharf package but auth: turning a token or an
// error into an HTTP response is the job of ociapi and tokenserver, and
// reading files or configuration is the caller's.
package token
