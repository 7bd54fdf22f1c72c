package authn

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"wharf/internal/auth"
)

// Confirmer is an Authenticator that can tell, without the password,
// whether an account it admitted before is still admitted. The token server
// asks it on every refresh-token grant, so that a session (docker login's
// stored identity token) ends when the access it was opened with does: the
// account removed or disabled, its password changed, its sign-in revoked.
type Confirmer interface {
	Authenticator
	// CanConfirm reports whether Confirm can answer for a session opened
	// with the credential stamp (an LDAP backend that searches as the user
	// cannot, nor can a login with a CI job's ID token). Such sessions are
	// given a shorter lifetime instead.
	CanConfirm(stamp string) bool
	// Confirm answers for account, admitted earlier with a credential whose
	// stamp (the LabelStamp it returned then; "" when it gave none) is
	// stamp: Accepted with the account's current labels when it is still
	// admitted with that credential; WrongPassword when it is not (removed,
	// disabled, the password changed); NoMatch is never answered. An error
	// means the backend could not answer: the refresh fails, the session
	// stays.
	Confirm(ctx context.Context, account, stamp string) (Result, auth.Labels, error)
}

// ErrUnconfirmable means the backend a session came from cannot confirm
// accounts without a password; the session's own (shorter) lifetime bounds
// it.
var ErrUnconfirmable = errors.New("authn: the backend cannot confirm accounts without a password")

// Stamp returns the stamp of a credential (a bcrypt hash, a sign-in's
// password digest): a keyed digest, short and one-way, that a session
// record can hold without holding the credential.
func Stamp(credential []byte) string {
	h := sha256.New()
	h.Write([]byte("wharf session stamp\x00"))
	h.Write(credential)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18])
}

// SameStamp compares two stamps in constant time; "" never matches.
func SameStamp(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// WithStamp returns labels (a fresh map when nil) with the stamp set.
func WithStamp(labels auth.Labels, stamp string) auth.Labels {
	if labels == nil {
		labels = auth.Labels{}
	}
	labels[auth.LabelStamp] = []string{stamp}
	return labels
}

// TakeStamp removes the stamp from labels and returns it ("" when there was
// none, or when it was not a single value).
func TakeStamp(labels auth.Labels) string {
	v := labels[auth.LabelStamp]
	delete(labels, auth.LabelStamp)
	if len(v) != 1 {
		return ""
	}
	return v[0]
}

// sourced is an Authenticator whose source name (LabelSource) is not its
// Name: the database users are "database".
type sourced interface{ Source() string }

// SourceOf is the name the chain records as LabelSource for labels from b.
func SourceOf(b Authenticator) string {
	if s, ok := b.(sourced); ok {
		return s.Source()
	}
	return b.Name()
}

// backend returns the chain's backend named source.
func (c *Chain) backend(source string) (Authenticator, bool) {
	for _, b := range c.backends {
		if SourceOf(b) == source {
			return b, true
		}
	}
	return nil, false
}

// CanConfirm reports whether the backend named source confirms the accounts
// of sessions opened with the credential stamp (see Confirmer).
func (c *Chain) CanConfirm(source, stamp string) bool {
	b, ok := c.backend(source)
	if !ok {
		return false
	}
	cf, ok := b.(Confirmer)
	return ok && cf.CanConfirm(stamp)
}

// Confirm asks the backend named source whether account, admitted with the
// credential stamp, is still admitted (see Confirmer). A source the chain
// no longer has (its backend was removed from the configuration) answers
// WrongPassword; a backend that cannot confirm, ErrUnconfirmable. Accepted
// labels carry LabelSource, as Authenticate's do.
func (c *Chain) Confirm(ctx context.Context, source, account, stamp string) (Result, auth.Labels, error) {
	b, ok := c.backend(source)
	if !ok {
		return WrongPassword, nil, nil
	}
	cf, ok := b.(Confirmer)
	if !ok || !cf.CanConfirm(stamp) {
		return WrongPassword, nil, ErrUnconfirmable
	}
	res, labels, err := cf.Confirm(ctx, account, stamp)
	if err != nil {
		c.log.WarnContext(ctx, "confirming a session's account failed", "backend", b.Name(), "user", account, "err", err)
		return WrongPassword, nil, fmt.Errorf("authn: %s: %w", b.Name(), err)
	}
	if res != Accepted {
		return WrongPassword, nil, nil
	}
	return Accepted, withSource(labels, source), nil
}

// dropReserved removes from labels the reserved labels a backend may not
// set: all but auth.LabelToken (a database token login's; a wrong one only
// denies) and auth.LabelStamp (compared only by the backend that set it).
func dropReserved(labels auth.Labels) auth.Labels {
	for k := range labels {
		if strings.HasPrefix(k, auth.ReservedPrefix) && k != auth.LabelToken && k != auth.LabelStamp {
			delete(labels, k)
		}
	}
	return labels
}

// withSource returns labels (a fresh map when nil) marked with source.
func withSource(labels auth.Labels, source string) auth.Labels {
	if labels == nil {
		labels = auth.Labels{}
	}
	labels[auth.LabelSource] = []string{source}
	return labels
}
