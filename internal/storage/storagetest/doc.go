// Package storagetest owns the conformance suite for storage.Driver: Run
// checks one driver against the contract written in package storage, and
// every driver (memory included) calls it from its own tests, each subtest
// on a fresh driver.
//
// What the suite pins down beyond the interface comments: invalid digests
// fail with go-digest's errors and invalid upload ids with ErrInvalidID before
// any key or path is built; creating an upload that exists fails with
// fs.ErrExist; a failed Commit releases the writer but keeps the staged bytes;
// Close on a finished writer is a no-op.
//
// It imports testing, the storage interface package, go-digest and go-cmp:
// never a concrete driver, never net/http, never metadata.
package storagetest
