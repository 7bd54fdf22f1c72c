package accounts

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"wharf/internal/auth"
)

// ErrInvalid means a name, password, label, rule or token request is not
// acceptable; the message says why and what to do.
var ErrInvalid = errors.New("accounts: invalid")

// Labels Wharf sets on the accounts it authenticates from the database.
// They are reserved: a user's own labels cannot use them.
const (
	// LabelGroups lists the account's teams, for ACL rules such as
	// match: {labels: {groups: dev}} or name: "${labels:groups}/*".
	LabelGroups = "groups"
	// LabelSource is "database" on accounts authenticated from the
	// database: the authorizer then reads their current teams and labels
	// instead of the ones captured at login.
	LabelSource = auth.LabelSource
	// LabelToken holds the id of the access token the account logged in
	// with; the token's scopes then restrict what it is granted.
	LabelToken = auth.LabelToken
	// SourceDatabase is the value of LabelSource.
	SourceDatabase = "database"
)

// maxNameLen bounds user and team names.
const maxNameLen = 128

// CheckName validates a user or team name: 1 to 128 bytes of letters,
// digits and . _ - @, starting with a letter or digit. Colons are refused
// because HTTP Basic credentials split on the first one, and slashes,
// spaces and glob or regex characters because names are matched by ACL
// patterns.
func CheckName(kind, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: the %s name is empty", ErrInvalid, kind)
	case len(name) > maxNameLen:
		return fmt.Errorf("%w: the %s name is longer than %d bytes", ErrInvalid, kind, maxNameLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: the %s name is not valid UTF-8", ErrInvalid, kind)
	}
	first, _ := utf8.DecodeRuneInString(name)
	if !unicode.IsLetter(first) && !unicode.IsDigit(first) {
		return fmt.Errorf("%w: %s name %q must start with a letter or a digit", ErrInvalid, kind, name)
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("._-@", r) {
			return fmt.Errorf("%w: %s name %q contains %q; use letters, digits and . _ - @", ErrInvalid, kind, name, r)
		}
	}
	return nil
}

// CheckLabels validates a user's own labels: names as for users, values
// non-empty, reserved names refused.
func CheckLabels(labels auth.Labels) error {
	var errs []error
	for k, vs := range labels {
		if k == LabelGroups || strings.HasPrefix(k, "wharf.") {
			errs = append(errs, fmt.Errorf("%w: label %q is reserved (Wharf sets it: groups from teams, wharf.* for its own use)", ErrInvalid, k))
			continue
		}
		if err := CheckName("label", k); err != nil {
			errs = append(errs, err)
		}
		for _, v := range vs {
			if v == "" || len(v) > 256 || strings.ContainsAny(v, "\x00\r\n") {
				errs = append(errs, fmt.Errorf("%w: label %s has an empty, multi-line or over-long value", ErrInvalid, k))
			}
		}
	}
	return errors.Join(errs...)
}

// ParseLabels parses KEY=VALUE pairs (a key may repeat) into labels.
func ParseLabels(pairs []string) (auth.Labels, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	out := auth.Labels{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return nil, fmt.Errorf("%w: label %q is not KEY=VALUE", ErrInvalid, p)
		}
		out[k] = append(out[k], v)
	}
	return out, CheckLabels(out)
}
