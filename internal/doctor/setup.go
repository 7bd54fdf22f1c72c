package doctor

import (
	"wharf/internal/config"
)

// Setup is what the doctor examines: the all-in-one config, or the two
// halves of a split setup, or a running registry's URL, and optionally a
// user to log in with.
type Setup struct {
	// Serve is the config of `wharf serve` (nil when not given).
	Serve *config.Config
	// Registry and Auth are the two halves of a split setup (either may be
	// nil). Registry is read as `wharf registry` reads it (file plus
	// REGISTRY_* environment), Auth as `wharf auth` reads it.
	Registry *config.Config
	Auth     *config.Config
	// Refused are the configurations given that a server command would
	// refuse to start with (resolution's problems); their halves above
	// are nil.
	Refused []Refused
	// RegistryWarnings and AuthWarnings are the readers' own findings
	// (literal quotes in values).
	RegistryWarnings, AuthWarnings []string
	// URL is a running registry to probe, e.g. https://registry.example.com.
	URL string
	// Host is the public host name clients use (for certificate SANs).
	Host string
	// User and Password, when set, are used to ask the realm for a token.
	User, Password string
	// CAFile is a CA bundle to trust when probing over HTTPS.
	CAFile string
}
