package auth

import (
	"errors"
	"time"
)

// Session is a login session as the token server keeps it: what a
// refresh token (docker login's identity token) stands for. The token
// itself is no part of it; a store keeps only its hash.
type Session struct {
	// ID is the session's public name, derived from its token.
	ID      string
	Account string
	// Source is the backend that admitted the account (LabelSource); ""
	// for sessions stored by versions that did not record it.
	Source string
	// Stamp is a one-way stamp of the credential the account logged in
	// with (LabelStamp), which the source compares at each refresh.
	Stamp string
	// Service is the service the session was opened for; ClientID the
	// client that asked (docker, containerd, …).
	Service   string
	ClientID  string
	Labels    Labels
	ExpiresAt time.Time
}

// ErrNoSession means a refresh token or session id names no live session:
// it is unknown, revoked or expired.
var ErrNoSession = errors.New("auth: no such session")
