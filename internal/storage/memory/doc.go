// Package memory is an in-memory storage.Driver for unit tests of the layers
// above storage. It keeps the same semantics as the filesystem driver (it runs
// the same storagetest suite), minus durability: everything is lost with the
// process.
//
// It owns nothing but a mutex-guarded map of blobs and one of uploads. It
// imports the standard library, go-digest and the storage interface package
// only: never net/http, never metadata.
package memory
