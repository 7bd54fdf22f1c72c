// Package servertls is the TLS of Wharf's listeners: tls: files (read
// through a reloader, so that a renewed certificate is served without a
// restart, with optional client CAs), tls: auto (a local CA limited to the
// server's names, and a server certificate it signs, both in the data
// directory's tls/ and renewed before they expire) and tls: acme
// (certificates from an ACME server, TLS-ALPN-01 on the registry's own
// port, cached in the data directory's acme/). Every mode serves TLS 1.2
// or newer with AEAD cipher suites only.
//
// It imports config, certs and datadir; never server, the APIs or the
// metadata store.
package servertls
