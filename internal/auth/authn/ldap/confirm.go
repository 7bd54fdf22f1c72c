package ldap

import (
	"context"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
)

// lockAttributes are where directories say an account is disabled or
// locked: Active Directory's userAccountControl (flag 0x2, ACCOUNTDISABLE),
// OpenLDAP's password policy overlay (pwdAccountLockedTime, an operational
// attribute: it is only returned when asked for), and 389 Directory
// Server's and FreeIPA's nsAccountLock.
var lockAttributes = []string{"userAccountControl", "pwdAccountLockedTime", "nsAccountLock"}

// disabled reports whether the entry says the account is disabled or
// locked.
func disabled(entry *ldap.Entry) bool {
	if v := entry.GetEqualFoldAttributeValue("userAccountControl"); v != "" {
		if flags, err := strconv.ParseInt(v, 10, 64); err == nil && flags&0x2 != 0 {
			return true
		}
	}
	if entry.GetEqualFoldAttributeValue("pwdAccountLockedTime") != "" {
		return true
	}
	return strings.EqualFold(entry.GetEqualFoldAttributeValue("nsAccountLock"), "true")
}

// CanConfirm implements authn.Confirmer: the directory is searched for the
// user as the service account (or anonymously). With initial_bind_as_user
// only the user's own password opens the directory, so sessions cannot be
// confirmed and get the shorter lifetime.
func (a *Authenticator) CanConfirm(string) bool { return !a.cfg.InitialBindAsUser }

// Confirm implements authn.Confirmer: the user's entry is still found by
// the filter and is neither disabled nor locked; the answer carries the
// labels and groups as they are now. A directory does not tell a changed
// password without a bind, so no stamp is compared: a password changed in
// the directory ends a session only through the entry's lock or removal
// (or `wharf session revoke`).
func (a *Authenticator) Confirm(ctx context.Context, user, _ string) (authn.Result, auth.Labels, error) {
	if user == "" || a.cfg.InitialBindAsUser || !plausibleName(user) {
		return authn.WrongPassword, nil, nil
	}
	var out outcome
	err := a.withConn(ctx, func(c *conn) error {
		out = outcome{res: authn.WrongPassword}
		if err := a.bindService(c); err != nil {
			return err
		}
		entry, err := a.findUser(c, user)
		if err != nil || entry == nil || !holdsAccount(entry, a.assertions, user) {
			return err
		}
		if disabled(entry) {
			a.log.InfoContext(ctx, "the directory says the account is disabled or locked; its session ends", "user", user, "dn", entry.DN)
			return nil
		}
		labels, err := a.labels(c, entry, user)
		if err != nil {
			return err
		}
		out = outcome{res: authn.Accepted, labels: labels}
		return nil
	})
	if err != nil {
		return authn.WrongPassword, nil, err
	}
	return out.res, out.labels, nil
}
