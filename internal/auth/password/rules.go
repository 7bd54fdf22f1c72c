package password

import (
	"fmt"
	"strings"

	"wharf/internal/auth"
)

// The rules a new password follows, wherever it comes from: `wharf user
// add|passwd`, the admin API, or WHARF_ADMIN_PASSWORD, which the
// configuration checks before anything is created. bcrypt reads at most
// 72 bytes; a longer password would be silently cut, so it is refused
// instead.
const (
	MinLen = 12
	MaxLen = 72
)

// Problem says what is wrong with pw as a new password, "" when nothing
// is. The answer never contains the password; callers prefix it with
// what they check (a field, a variable).
func Problem(pw auth.Secret) string {
	v := pw.Reveal()
	switch {
	case len(v) < MinLen:
		return fmt.Sprintf("the password is %d characters long; use at least %d (a passphrase of a few words is easiest)", len(v), MinLen)
	case len(v) > MaxLen:
		return fmt.Sprintf("the password is longer than %d bytes, which bcrypt would silently cut; use a shorter one", MaxLen)
	case strings.HasPrefix(v, auth.TokenPrefix):
		return fmt.Sprintf("passwords must not start with %q, which marks access tokens", auth.TokenPrefix)
	case strings.TrimSpace(v) != v:
		return "the password starts or ends with white space (a stray newline?); remove it"
	}
	return ""
}
