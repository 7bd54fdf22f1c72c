// Package extcmdtest writes the executable scripts that the tests of
// external programs (extcmd and the authenticators and authorizers built
// on it) run. It is imported by tests only.
package extcmdtest
