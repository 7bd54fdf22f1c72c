// Package storage owns the content-addressed blob Driver interface: where the
// bytes of blobs live, keyed by digest, and the staging area for uploads in
// progress. It knows nothing about repositories, manifests or HTTP; the
// registry package decides what a blob means.
//
// Drivers live in sub-packages (filesystem, memory) and all run the one
// conformance suite in storagetest. This package imports only the standard
// library and go-digest.
package storage
