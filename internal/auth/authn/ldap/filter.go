package ldap

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// Placeholders of the templates, docker_auth's and the group search's.
const (
	accountVar = "${account}"
	dnVar      = "${dn}"
)

// maxNameLen bounds user names: no directory holds longer ones, and the
// filter and DN built from them stay small.
const maxNameLen = 256

// plausibleName reports whether name can be an account name at all: valid
// UTF-8, no control characters (a NUL would end the name in C code on the
// directory's side), not too long. Others never reach the directory.
func plausibleName(name string) bool {
	if name == "" || len(name) > maxNameLen || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// userFilter is the user search filter for account: every ${account}
// replaced by the account, escaped for a filter value.
func userFilter(template, account string) string {
	return strings.ReplaceAll(template, accountVar, ldap.EscapeFilter(account))
}

// groupFilter is the group search filter for a user found at dn.
func groupFilter(template, dn, account string) string {
	return strings.NewReplacer(dnVar, ldap.EscapeFilter(dn), accountVar, ldap.EscapeFilter(account)).Replace(template)
}

// bindDN is the initial bind DN for account: ${account} replaced by the
// account, escaped for a DN attribute value.
func bindDN(template, account string) string {
	return strings.ReplaceAll(template, accountVar, ldap.EscapeDN(account))
}

// sentinel stands for ${account} while a template filter is compiled; it
// needs no escaping and survives compilation unchanged.
const sentinel = "wharfaccount7f3ac1e9sentinel"

// accountAssertion is an equality assertion of the user filter whose value
// holds ${account}, e.g. (uid=${account}) or (mail=${account}@example.org).
type accountAssertion struct {
	attr  string
	value string // with sentinel where the account goes
}

// want is the value the entry must hold for account.
func (a accountAssertion) want(account string) string {
	return strings.ReplaceAll(a.value, sentinel, account)
}

// parseUserFilter checks the user filter template and returns its account
// assertions. The directory compares most naming attributes without regard
// to case or repeated spaces, so "Alice" or "alice " would find alice's
// entry and, with her password, log in under a name the ACL does not know
// as hers. The entry found must therefore hold, in one of these
// attributes, the very name given.
func parseUserFilter(template string) ([]accountAssertion, error) {
	if !strings.Contains(template, accountVar) {
		return nil, errors.New("it does not contain ${account}")
	}
	p, err := ldap.CompileFilter(strings.ReplaceAll(template, accountVar, sentinel))
	if err != nil {
		return nil, fmt.Errorf("%q: %w", template, err)
	}
	var out []accountAssertion
	collectAssertions(p, &out)
	if len(out) == 0 {
		return nil, fmt.Errorf("%q: ${account} must be in the value of an equality match such as (uid=${account})", template)
	}
	return out, nil
}

// collectAssertions walks a compiled filter. Assertions under a NOT do not
// count: they say what the entry must not hold.
func collectAssertions(p *ber.Packet, out *[]accountAssertion) {
	switch p.Tag {
	case ldap.FilterAnd, ldap.FilterOr:
		for _, c := range p.Children {
			collectAssertions(c, out)
		}
	case ldap.FilterEqualityMatch:
		if len(p.Children) != 2 {
			return
		}
		attr, value := p.Children[0].Data.String(), p.Children[1].Data.String()
		if strings.Contains(value, sentinel) && !strings.Contains(attr, sentinel) {
			*out = append(*out, accountAssertion{attr: attr, value: value})
		}
	}
}

// checkFilter checks that a filter template compiles, with its
// placeholders filled.
func checkFilter(template string) error {
	f := strings.NewReplacer(accountVar, sentinel, dnVar, sentinel).Replace(template)
	if _, err := ldap.CompileFilter(f); err != nil {
		return fmt.Errorf("%q: %w", template, err)
	}
	return nil
}

// holdsAccount reports whether entry holds account exactly (byte for byte)
// in the attribute of one of the assertions.
func holdsAccount(entry *ldap.Entry, assertions []accountAssertion, account string) bool {
	for _, a := range assertions {
		want := a.want(account)
		for _, v := range entry.GetEqualFoldAttributeValues(a.attr) {
			if v == want {
				return true
			}
		}
	}
	return false
}
