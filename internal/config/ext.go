package config

// ExtAuth configures an external program that authenticates users
// (docker_auth's ext_auth).
type ExtAuth struct{}

// ExtAuthz configures an external program that authorizes requests
// (docker_auth's ext_authz).
type ExtAuthz struct{}

// Webhook configures an HTTP endpoint that authenticates users or
// authorizes requests (JSON in, JSON out).
type Webhook struct{}
