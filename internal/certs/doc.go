// Package certs makes and inspects the certificates a wharf deployment
// needs, in place of the classic openssl recipe: a private CA, the HTTPS
// server certificate it signs, and the token-signing key and certificate.
//
// It owns:
//   - the Authority (NewCA, LoadCA) and what it issues: server
//     certificates with SANs (IssueServer) and token-signing certificates
//     (IssueSigning);
//   - the critical name constraints every CA it makes carries, limiting
//     it to the names it was made for, and the check of a CA's
//     constraints against names (Constrained, Forbidden);
//   - host-name parsing for SANs (an IP literal becomes an IP SAN,
//     anything else must be a valid DNS name);
//   - Init, the files `wharf certs init` writes, with safe permissions
//     and no silent overwrite;
//   - EnsureServerCert, which `tls: auto` calls at start-up to create or
//     renew the server certificate with atomic writes, and to replace a
//     CA that may not sign for a configured name;
//   - AdviseTLS, the one mapping from a certificate a client refused
//     (unknown CA, wrong name, expired, outside its CA's constraints) to
//     what to do, for every command that probes a server over HTTPS;
//   - Describe, the human-readable summary behind `wharf certs show`
//     (never printing key material).
//
// Key generation and PEM encoding are package token's (GenerateKey,
// EncodePrivateKeyPEM, ParsePrivateKeyPEM…), atomic writes package
// atomicfile's; this package must import nothing else of wharf and no module
// outside the standard library, and
// must not import net/http: serving TLS is the server's job.
package certs
