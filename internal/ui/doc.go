// Package ui is the server-rendered web interface over the same services
// as adminapi: people sign in with the accounts `docker login` takes (the
// token server's authenticator chain, login limiter and password gate),
// and see the repositories the ACL lets them pull, their tags, manifests,
// layers, configuration and referrers.
//
// Pages are html/template, the stylesheet is embedded, and no page runs a
// script: the Content-Security-Policy allows none. A session is a row of
// the login sessions' table (the refresh tokens of `docker login`, service
// and client "wharf-ui"), so `wharf session ls` lists it, `wharf session
// revoke` ends it, a password change or a disabled account ends it, and
// every replica on a shared database knows it. Every page asks the
// session's backend and the ACL again.
//
// Accounts the ACL grants admin:api:* (decided as the admin API decides)
// administer users, teams, rules (with the explanation of `wharf acl
// check`), access tokens and sessions, and read the audit log and the
// usage pictures (SVG made here, coloured by the stylesheet); every change
// goes through accounts.Service, the admin API's and the CLI's operations.
// Everyone has a page of their own: tokens, teams, login commands.
//
// It imports accounts (the session store), auth and its chains, edge,
// errcode, events (a delete is recorded as the registry API records one),
// metadata and registry (manifests and config blobs, read as a pull reads
// them); never server, ociapi, adminapi or a storage driver.
package ui
