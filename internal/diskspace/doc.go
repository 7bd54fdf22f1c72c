// Package diskspace says which filesystem holds a path and how much room is
// left on it, for the messages of a full disk: the log line that tells an
// operator which disk to free, and wharf doctor.
//
// It imports only the standard library and progress's byte formatting.
package diskspace
