// Package compat holds what the readers of foreign configuration formats
// (distribution, docker_auth) share beyond the YAML helpers of yamlnode:
// their error sentinels and the notes they log once a load succeeds. Each
// reader lives in a sub-package and translates its format into
// config.Config.
package compat
