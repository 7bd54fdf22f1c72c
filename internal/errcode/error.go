package errcode

import (
	"errors"
	"fmt"
)

// Error is one error answer: a code from the table and what this answer
// adds to it. Message, Detail and Field are shown to the client, so they
// never hold a secret or a backend's internals (a path, a SQL statement).
type Error struct {
	Code Code
	// Message replaces the code's default message when set.
	Message string
	// Detail is the OCI format's detail member (the access a refused
	// request needed, for instance); nil leaves it out.
	Detail any
	// Field names the request member or query parameter at fault, in the
	// admin API's format.
	Field string
	// RetryAfter, in seconds, is sent as Retry-After when positive (and
	// some formats send one for every 429 and 503; see their writers).
	RetryAfter int
	// Challenges are the WWW-Authenticate values, one header each.
	Challenges []string
}

// New returns an Error of code c with message msg ("" keeps the default).
func New(c Code, msg string) *Error { return &Error{Code: c, Message: msg} }

// Errorf returns an Error of code c with a formatted message.
func Errorf(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Message: fmt.Sprintf(format, args...)}
}

// Error is the message the client sees.
func (e *Error) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return e.Code.Message()
}

// Status is the HTTP status of the answer.
func (e *Error) Status() int { return e.Code.Status() }

// As returns the *Error in err's chain, if there is one.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
