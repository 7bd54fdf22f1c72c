// Package storagecopy moves a registry's blobs from one storage to another
// (wharf migrate-storage): it names storages as KIND:SPEC (spec.go, one
// table row per driver), walks the source, and copies every blob the
// destination does not already hold with the right bytes, hashing each one
// as it is written. A blob the destination holds is read back and hashed
// before it is skipped, never trusted by its name; each blob stages under
// an upload id derived from its digest, so a run interrupted at any moment
// (kill -9 included) is resumed by running it again, going on from the
// bytes it had staged once they hash right.
//
// It reaches blobs only through the storage.Driver interface, so every
// driver in the table can be a source or a destination. It imports no
// net/http, config, metadata, server or cli: the command parses the flags
// and hands in the two specs.
package storagecopy
