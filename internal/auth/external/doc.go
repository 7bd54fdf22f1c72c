// Package external authenticates users and authorizes requests by asking
// something outside Wharf: a program (docker_auth's ext_auth and ext_authz
// protocols, so that an unchanged docker_auth configuration and script keep
// working) or an HTTP endpoint (webhook_auth and webhook_authz, the same
// questions as JSON, for those who would rather run a service than have
// Wharf start a process per request). Each is an authn.Authenticator or an
// authz.Authorizer; any failure of theirs is an error, which fails the
// login or the token request: never an admission or a grant.
//
// The program runner (Program) owns the hygiene every run needs: one
// short-lived process per question, given its input on stdin and judged by
// its exit code and output; a timeout after which the program's whole
// process group is killed (grandchildren included); bounded capture of
// stdout and stderr (a program that floods them cannot exhaust memory);
// stdin closed after the input is written; and a minimal environment
// (secrets in Wharf's environment are not passed on). Input goes on stdin
// only, never in argv or the environment, where other local users could
// read it. The runner knows nothing of what the programs decide.
//
// ext_auth (ExtAuth) runs the program as configured (command and args, no
// shell) once per login, with "USER PASSWORD" on stdin (one space between,
// no newline) and stdin then closed. Exit code 0 accepts the user, 1 denies
// (wrong password), 2 says the user is not the program's (the chain asks
// the next backend), and any other code is an error; on 0 the program may
// print {"labels": {"group": ["dev"]}} on stdout. Names and passwords the
// one-line format cannot carry unambiguously (a name with whitespace or a
// control character, a password with a control character) are refused
// without running the program. The password goes only to the program's
// stdin: never to argv, the environment, an error or a log line.
//
// ext_authz (ExtAuthz) runs the program once per requested scope, with the
// request as one JSON object on stdin (docker_auth's field names: Account,
// Type, Name, Service, IP, Actions, Labels). Exit code 0 allows every
// requested action, 1 denies them all, and any other code (2 included, as
// in docker_auth) is an error; stdout carries no answer, as in docker_auth
// (it is bounded: more than 64 KiB is an error).
//
// The webhooks (WebhookAuth, WebhookAuthz) POST one JSON document per
// question and read one JSON answer (the schemas are in docs/auth.md and on
// the request and answer types here). Every call has a timeout; the answer
// is bounded in size, decoded strictly (unknown fields, a missing result,
// trailing data are errors) and accepted only with status 200; redirects
// are not followed, so a password is never sent anywhere but the configured
// URL; HTTPS is verified against the system roots or a configured CA
// bundle. An optional secret header lets the endpoint recognise Wharf; it
// travels as an auth.Secret and is never logged.
//
// It imports wharf/internal/auth, authn, authz and the standard library;
// never config (authstack translates the sections and bounds the calls
// running at once), the token server, the server or the registry API. Its
// tests write their programs with externaltest.
package external
