// Package compat holds what the readers of foreign configuration formats
// (distribution, docker_auth) share; each reader lives in a sub-package and
// translates its format into config.Config.
package compat
