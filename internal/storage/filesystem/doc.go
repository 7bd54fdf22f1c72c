// Package filesystem is the storage.Driver that keeps blobs as plain files
// under one root directory:
//
//	root/blobs/<algorithm>/<first two hex digits>/<hex>   committed blobs
//	root/uploads/<id>                                     uploads in progress, one file each
//
// It owns crash safety on local disks: an upload is staged in its own file,
// fsynced, and renamed into blobs/ only by Writer.Commit (with the directory
// fsynced too), so a blob path exists only once its bytes are complete and
// durable. Upload ids and digests are validated before any path is built, so
// no caller-controlled string can name a file outside root.
//
// Open returns a *Blob that embeds the *os.File. Serving it with
// http.ServeContent or io.Copy to a TCP connection therefore reaches the
// kernel's sendfile: net's sendfile path accepts any reader that implements
// syscall.Conn (possibly behind an io.LimitedReader), and the embedded file
// provides it. Do not wrap a Blob in another reader before serving it.
//
// This package imports the standard library, go-digest and the storage
// interface package only: never net/http, never metadata.
package filesystem
