//go:build !unix

package datadir

import "io/fs"

// ownerOf has no uid to name where the standard library has none.
func ownerOf(fs.FileInfo) string { return "another user" }
