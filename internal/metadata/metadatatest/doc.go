// Package metadatatest owns the conformance suite for the metadata store:
// Run checks one backend (SQLite, PostgreSQL, …) against the contract written
// on the methods of metadata.Store, each subtest on a fresh store.
//
// What the suite pins down beyond the method comments: listings are in byte
// order and paginated by keyset; a failed PutManifest leaves no trace, not
// even the repository row; empty annotations read back nil; GetManifest
// returns references deduplicated and ordered by kind then digest; uploads do
// not create repositories; concurrent writers never see "database is locked"
// nor a deadlock; keys are compared byte for byte (no case folding, padding
// or normalization) and may be MaxKeyLength bytes long, longer ones being
// refused with ErrInvalidKey. RunServer adds what concerns a database server
// several processes share: migrating once when replicas start together.
//
// It imports the standard library, package metadata, go-digest and go-cmp
// only.
package metadatatest
