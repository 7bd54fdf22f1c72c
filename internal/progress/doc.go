// Package progress draws the progress of a long command on stderr: on a
// terminal one counter line redrawn in place, otherwise a plain line every
// interval (for logs). wharf import and wharf fsck use it.
//
// It imports only the standard library.
package progress
