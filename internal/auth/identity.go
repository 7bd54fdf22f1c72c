package auth

import "net/netip"

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
