package config

// Limits bound what one client can make the server do: how many password
// checks, external authorizer calls and uploads run at once, how long a
// request body may take to arrive, and how long a list may be. Zero values
// take the defaults, which suit one machine; docs/security.md lists them.
type Limits struct{}
