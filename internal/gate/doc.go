// Package gate bounds how many of one kind of work run at once in the
// process: bcrypt comparisons (CPU), external authorizer programs and
// webhook calls. A caller waits a short, bounded time for a free slot and is
// then refused with ErrBusy and a Retry-After, which the HTTP layers answer
// with 503; a flood of refusals is logged once a minute, not once per
// request.
//
// It imports the standard library and golang.org/x/sync only, so that any
// package (authn included) may use it.
package gate
