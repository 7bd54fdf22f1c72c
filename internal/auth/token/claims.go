package token

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"wharf/internal/auth"
)

// Claims are the verified contents of a token.
type Claims struct {
	Issuer   string
	Subject  string // the account; "" for an anonymous token
	Audience []string
	// Expiry is always set on a verified token; NotBefore and IssuedAt are
	// zero when the token omits them.
	Expiry    time.Time
	NotBefore time.Time
	IssuedAt  time.Time
	JTI       string
	Access    []auth.Access
	// Source and TokenID are Wharf's own claims, present on the tokens of
	// Wharf's token server: the backend that admitted the subject, and the
	// access token it logged in with. The admin API checks they are still
	// live; a registry ignores them.
	Source  string
	TokenID string
}

// Allows reports whether the token grants action on the resource typ/name.
// Type and name must match exactly; the "*" action grants every action.
// The resource class ("plugin" in "repository(plugin)") does not matter, as
// in distribution.
func (c *Claims) Allows(typ, name, action string) bool {
	if c == nil {
		return false
	}
	for _, a := range c.Access {
		if a.Type == typ && a.Name == name && (slices.Contains(a.Actions, action) || slices.Contains(a.Actions, "*")) {
			return true
		}
	}
	return false
}

// wireAccess is one entry of the "access" claim. auth.Access keeps its class
// out of JSON, so the wire form is spelled out here; class is omitted when
// empty, as distribution v3 writes it.
type wireAccess struct {
	Type    string   `json:"type"`
	Class   string   `json:"class,omitempty"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// issuedClaims is what the Issuer signs. aud is a single string: every
// distribution release reads that form, while an array needs v2.8 or later.
type issuedClaims struct {
	Issuer    string       `json:"iss"`
	Subject   string       `json:"sub"`
	Audience  string       `json:"aud"`
	Expiry    int64        `json:"exp"`
	NotBefore int64        `json:"nbf"`
	IssuedAt  int64        `json:"iat"`
	JTI       string       `json:"jti"`
	Access    []wireAccess `json:"access"`
	Wharf     *wharfClaims `json:"wharf,omitempty"`
}

// wharfClaims are Wharf's private claims (RFC 7519 §4.3): registries
// ignore claims they do not know.
type wharfClaims struct {
	Source  string `json:"source,omitempty"`
	TokenID string `json:"token,omitempty"`
}

// receivedClaims is what the Verifier reads. Pointers tell an absent claim
// from a zero one; numericDate and audience accept every RFC 7519 form.
type receivedClaims struct {
	Issuer    *string      `json:"iss"`
	Subject   string       `json:"sub"`
	Audience  audience     `json:"aud"`
	Expiry    *numericDate `json:"exp"`
	NotBefore *numericDate `json:"nbf"`
	IssuedAt  *numericDate `json:"iat"`
	JTI       string       `json:"jti"`
	Access    []wireAccess `json:"access"`
	Wharf     *wharfClaims `json:"wharf"`
}

// audience is the "aud" claim: one string or an array of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*a = nil
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// maxNumericDate keeps time arithmetic far from overflow: year ~33658.
const maxNumericDate = 1 << 40

// numericDate is an RFC 7519 NumericDate, seconds since the epoch, possibly
// fractional; the fraction is dropped.
type numericDate struct{ time.Time }

func (d *numericDate) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	if f >= maxNumericDate || f <= -maxNumericDate {
		return fmt.Errorf("date %s is out of range", b)
	}
	d.Time = time.Unix(int64(f), 0)
	return nil
}

func (d *numericDate) time() time.Time {
	if d == nil {
		return time.Time{}
	}
	return d.Time
}

func toWire(access []auth.Access) []wireAccess {
	out := make([]wireAccess, 0, len(access))
	for _, a := range access {
		actions := make([]string, len(a.Actions))
		copy(actions, a.Actions)
		out = append(out, wireAccess{Type: a.Type, Class: a.Class, Name: a.Name, Actions: actions})
	}
	return out
}

func fromWire(access []wireAccess) []auth.Access {
	if access == nil {
		return nil
	}
	out := make([]auth.Access, 0, len(access))
	for _, a := range access {
		out = append(out, auth.Access{Type: a.Type, Class: a.Class, Name: a.Name, Actions: a.Actions})
	}
	return out
}
