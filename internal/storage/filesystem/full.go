package filesystem

import (
	"errors"
	"syscall"

	"wharf/internal/diskspace"
	"wharf/internal/storage"
)

// fullError is a write refused for want of space: storage.ErrFull, with
// the disk named and its free space measured when it happened, so that the
// log line says which filesystem to free.
type fullError struct {
	err   error
	space string
}

func (e *fullError) Error() string {
	return "storage: no space left on " + e.space + ": " + e.err.Error()
}

func (e *fullError) Is(target error) bool { return target == storage.ErrFull }
func (e *fullError) Unwrap() error        { return e.err }

// full turns an error of a full filesystem (ENOSPC, or EDQUOT for a quota)
// into a fullError and passes any other through.
func (d *Driver) full(err error) error {
	if err == nil || !(errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)) {
		return err
	}
	var fe *fullError
	if errors.As(err, &fe) {
		return err
	}
	return &fullError{err: err, space: diskspace.Describe(d.root)}
}
