package auth

import (
	"net/netip"
	"strings"
)

// Labels are attributes of an account (groups, organisation, …) that ACL
// rules can match and interpolate, as docker_auth's labels.
type Labels map[string][]string

// Identity is an authenticated (or anonymous) client.
type Identity struct {
	// Account is the user name; "" is the anonymous account.
	Account string
	// Labels come from the authenticator that accepted the account.
	Labels Labels
}

// Anonymous reports whether the identity is the anonymous account.
func (id Identity) Anonymous() bool { return id.Account == "" }

// Request is one authorization question: may this identity, from this
// address, for this service, do these actions on this resource?
type Request struct {
	Identity Identity
	Service  string
	IP       netip.Addr
	Access   Access // the resource and the actions asked for
}

// Labels Wharf itself sets on an identity. Every label whose name starts
// with ReservedPrefix is Wharf's: a backend that turns outside data (a
// directory's attributes, a program's or a webhook's answer, a provider's
// claims) into labels drops those names (WithoutReserved), so that nobody
// can claim a source, a token or a session stamp by naming a label so.
const (
	ReservedPrefix = "wharf."
	// LabelSource names the backend that admitted the account ("static",
	// "database", "ldap", "github", …): set by the authenticator chain,
	// matched by ACL rules' source key, and where a refresh token goes to
	// have its account confirmed.
	LabelSource = ReservedPrefix + "source"
	// LabelToken holds the id of the access token a database account
	// logged in with; the token's scopes then restrict what it is granted.
	LabelToken = ReservedPrefix + "token"
	// LabelStamp is a digest of the credential the account logged in with,
	// set by backends that can confirm a session later (authn.Confirmer):
	// a refresh token is bound to it, so that a changed password ends the
	// sessions opened with the old one. Authorizers never see it.
	LabelStamp = ReservedPrefix + "stamp"
)

// Source returns the backend that admitted the identity ("" when none
// said).
func (l Labels) Source() string {
	if v := l[LabelSource]; len(v) == 1 {
		return v[0]
	}
	return ""
}

// WithoutReserved returns l without Wharf's reserved labels (a copy when it
// held any; l itself otherwise).
func (l Labels) WithoutReserved() Labels {
	reserved := false
	for k := range l {
		if strings.HasPrefix(k, ReservedPrefix) {
			reserved = true
			break
		}
	}
	if !reserved {
		return l
	}
	out := make(Labels, len(l))
	for k, v := range l {
		if !strings.HasPrefix(k, ReservedPrefix) {
			out[k] = v
		}
	}
	return out
}

// Without returns l without the label name (a copy when l held it; l
// itself otherwise).
func (l Labels) Without(name string) Labels {
	if _, ok := l[name]; !ok {
		return l
	}
	out := make(Labels, len(l)-1)
	for k, v := range l {
		if k != name {
			out[k] = v
		}
	}
	return out
}
