package accounts

import (
	"errors"
	"strings"

	"wharf/internal/metadata"
)

// Refusal is what kind of answer a change the service did not make
// deserves, whichever interface asked (the admin API, the web pages).
type Refusal int

// The kinds of refusals, by whose the mistake is.
const (
	// Failed is the server's: the database or a bug. Its message is for
	// the log only.
	Failed Refusal = iota
	// Invalid is the asker's: a name, label or value the service refuses.
	Invalid
	// Missing names something that is not there (any more).
	Missing
	// Conflict is a change refused for what it would leave (the last
	// administrator), a name already taken, or a change that lost its
	// race with other account changes every time it was tried.
	Conflict
)

// Refused sorts err, as returned by the service or the store beneath it,
// into its Refusal and the words to show the asker: the service's own
// message without the package prefixes. Failed comes with no words.
func Refused(err error) (Refusal, string) {
	switch {
	case errors.Is(err, ErrInvalid):
		return Invalid, strings.ReplaceAll(err.Error(), ErrInvalid.Error()+": ", "")
	case errors.Is(err, metadata.ErrNotFound):
		return Missing, strings.Replace(err.Error(), metadata.ErrNotFound.Error()+": ", "no such ", 1)
	case errors.Is(err, ErrRefused):
		return Conflict, strings.ReplaceAll(err.Error(), ErrRefused.Error()+": ", "")
	case errors.Is(err, metadata.ErrExists):
		return Conflict, strings.Replace(err.Error(), metadata.ErrExists.Error()+": ", "", 1) + " already exists"
	case errors.Is(err, metadata.ErrIdentityChanged):
		return Conflict, "users, teams, rules or tokens kept changing while this change was checked; try again"
	}
	return Failed, ""
}
