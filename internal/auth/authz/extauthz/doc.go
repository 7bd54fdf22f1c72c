// Package extauthz authorizes requests by asking an external program, with
// docker_auth's ext_authz protocol, so that an unchanged docker_auth
// configuration and script keep working:
//
//   - the program is run as configured (command and args, no shell) once
//     per requested scope, with the request as one JSON object on stdin
//     (docker_auth's field names: Account, Type, Name, Service, IP,
//     Actions, Labels) and stdin then closed;
//   - exit code 0 allows every requested action, 1 denies them all, and
//     any other code (2 included, as in docker_auth) is an error;
//   - stdout carries no answer, as in docker_auth (it is bounded: more
//     than 64 KiB is an error).
//
// An error — a timeout (the program's process group is killed), a crash,
// an odd exit code — fails the token request; it never grants.
//
// It imports authz, wharf/internal/auth, extcmd and the standard library.
package extauthz
