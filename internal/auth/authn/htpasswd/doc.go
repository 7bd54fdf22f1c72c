// Package htpasswd authenticates users from an Apache htpasswd file, the
// format registry:2's htpasswd auth reads (REGISTRY_AUTH_HTPASSWD_PATH):
// one "user:bcrypt-hash" per line, as written by `htpasswd -B`. The file is
// re-read when it changes. Only bcrypt entries are accepted; any other
// scheme is a load error naming the line.
//
// It imports authn, wharf/internal/auth, auth/password (bcrypt) and the
// standard library; never net/http.
package htpasswd
