// Package cli holds wharf's command line: one file per subcommand, each a
// cobra constructor (no package-level state, no init()). Commands parse
// flags, environment and config files, then call into server and friends.
package cli
