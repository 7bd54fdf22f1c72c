package authstack

import (
	"errors"
	"io"
)

// closerStack holds what the backends opened, and closes it last opened
// first: a backend may use one opened before it (acl_mongo's reloads use
// its connection), never one opened after.
type closerStack []io.Closer

// push adds c; nil (a backend that opened nothing) is left out.
func (s *closerStack) push(c io.Closer) {
	if c != nil {
		*s = append(*s, c)
	}
}

// Close closes everything in reverse order, each once, and returns the
// errors together.
func (s *closerStack) Close() error {
	var errs []error
	for i := len(*s) - 1; i >= 0; i-- {
		errs = append(errs, (*s)[i].Close())
	}
	*s = nil
	return errors.Join(errs...)
}

// closerFunc adapts a function to io.Closer.
type closerFunc func() error

func (f closerFunc) Close() error { return f() }
