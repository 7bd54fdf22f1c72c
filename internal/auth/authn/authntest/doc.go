// Package authntest is the conformance suite every authn backend runs:
// authntest.Run(t, contract, newAuthenticator). Each subtest provisions a
// fresh backend with the fixture users it is given, so backends share no
// state between tests. It imports testing, authn, wharf/internal/auth and
// bcrypt; never net/http.
package authntest
