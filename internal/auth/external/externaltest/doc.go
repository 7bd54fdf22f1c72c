// Package externaltest writes the executable scripts that the tests of
// external programs (the program runner of wharf/internal/auth/external,
// ext_auth and ext_authz, and the tests of the packages that build them)
// run. It is imported by tests only.
package externaltest
