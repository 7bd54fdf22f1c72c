// Package fsck checks a registry's metadata against its blob storage: every
// blob row against the bytes (size and digest, every byte read), every
// manifest's payload against its digest and its references (config, layers,
// index children) against rows, links and bytes, and which tags can no
// longer be pulled because of what it found. Bytes with no row are listed as
// orphans, for garbage collection, not as problems.
//
// With Repair it quarantines corrupt blobs (their bytes moved under the
// quarantine directory with a note, never deleted; their row and links
// removed, so that the next push uploads them again) and removes the tags of
// manifests that cannot be pulled.
//
// It reads through metadata and the storage Driver it is handed; it imports
// no net/http, config, server or cli: the command opens the data directory
// and the database and hands them in.
package fsck
