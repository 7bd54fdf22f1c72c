// Package errcode is Wharf's one error vocabulary, after distribution's
// registry/api/errcode: a table of codes, each with the value clients see,
// the HTTP status it is answered with and a default message; an Error that
// carries a code with what one answer adds (a message, a detail, a
// Retry-After, challenges); and the renderers of the wire formats the
// table is answered in:
//
//   - WriteOCI: the OCI distribution format, {"errors":[{code, message,
//     detail}]}, for the registry API and the server's own answers (404 and
//     405 fallbacks, readiness, panics, too-old clients);
//   - WriteToken: the token server's body, the same errors array that docker
//     and containerd print plus the OAuth2 error fields;
//   - WriteAdmin: the admin API's {"error":{code, message, field}};
//   - the Page family's Status, for the browser sign-in pages, which render
//     their own HTML.
//
// Nothing else in Wharf writes an error status (archtest refuses
// http.Error, WriteHeader with an error constant and hand-written error
// bodies elsewhere): a new error gets a code in table.go first. The bodies
// clients depend on (docker, containerd, the OCI conformance suite, the
// admin API's OpenAPI document) are fixed by these writers' tests.
//
// It imports only the standard library, so that every HTTP package, the
// edge included, may use it.
package errcode
