// Package datadir owns the layout of a data directory: where the blobs,
// the SQLite database, the TLS files of tls: auto, the token server's
// files (signing key, the built-in admin, browser sign-ins) and ACME's
// cache live, the modes they are created with and the start-up check of
// those modes, and the lock that keeps a second `wharf serve` out of a
// directory a running one uses.
//
// Nothing else spells a path inside a data directory: every package asks a
// Dir. The file names of tls/ are certs' (certs writes them into any
// directory, `wharf certs init` too); the rest are spelled here once.
//
// It imports the standard library and certs' file names only, so that any
// package may use it.
package datadir
