// Package password holds the bcrypt rules every password backend shares:
// which stored hashes are accepted (CheckHash, MaxCost), how Wharf makes
// one (Hash), the comparison (Verify) and the process-wide bound on the
// comparisons running at once (Checks, limits.password_checks), and the
// dummy hash an unknown user's password is compared with, so that an
// unknown user costs as much time as a wrong password (DummyHash,
// TypicalCost).
//
// It is a leaf: the authenticators (auth/authn and its backends) and the
// account database (accounts) use it, and it imports only the standard
// library, golang.org/x/crypto/bcrypt, auth (for Secret) and gate. It
// never logs a password or wraps one into an error: passwords travel as
// auth.Secret and are revealed to bcrypt only.
package password
