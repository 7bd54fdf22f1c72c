// Package extauth authenticates users by asking an external program, with
// docker_auth's ext_auth protocol, so that an unchanged docker_auth
// configuration and script keep working:
//
//   - the program is run as configured (command and args, no shell) once
//     per login, with "USER PASSWORD" on stdin (one space between, no
//     newline) and stdin then closed;
//   - exit code 0 accepts the user, 1 denies (wrong password), 2 says the
//     user is not the program's (the chain asks the next backend), and any
//     other code is an error;
//   - on 0 the program may print {"labels": {"group": ["dev"]}} on stdout.
//
// Wharf adds what the protocol leaves open: a timeout that kills the
// program's process group, bounded output, a minimal environment, and
// names and passwords the one-line format cannot carry unambiguously (a
// name with whitespace or a control character, a password with a control
// character) are refused without running the program. A timeout, a crash,
// an odd exit code or unreadable labels are errors, which deny the login.
// The password goes only to the program's stdin: never to argv, the
// environment, an error or a log line.
//
// It imports authn, wharf/internal/auth, extcmd and the standard library;
// never net/http.
package extauth
