// Package blobstore opens the blob storage the configuration names: the
// data directory's blobs/ (storage/filesystem), or the bucket of
// storage.s3 (storage/s3). Every command that reads or writes blobs (serve,
// registry, gc, fsck, import) opens its store here, so they all agree.
//
// It imports config, datadir, storage and the storage drivers; never the
// registry, a server or the CLI.
package blobstore
