// Package atomicfile writes small files that must never be seen half
// written (keys, password hashes): a temporary file in the same directory
// is given its final mode, written, synced and renamed over the target,
// and the directory is synced, so a reader sees the old file or the new
// one and a crash leaves one of them.
//
// It imports the standard library only.
package atomicfile
