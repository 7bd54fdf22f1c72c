// Package extcmd runs the external programs of ext_auth and ext_authz: one
// short-lived process per question, given its input on stdin and judged by
// its exit code and output.
//
// It owns the hygiene every run needs: a timeout after which the program's
// whole process group is killed (grandchildren included), bounded capture
// of stdout and stderr (a program that floods them cannot exhaust memory),
// stdin closed after the input is written, and a minimal environment
// (secrets in wharf's environment are not passed on). Input goes on stdin
// only, never in argv or the environment, where other local users could
// read it.
//
// It imports the standard library only and knows nothing of what the
// programs decide; extauth and extauthz give meaning to their answers.
package extcmd
