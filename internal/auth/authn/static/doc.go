// Package static authenticates users listed in the configuration, the
// users: map of docker_auth:
//
//	users:
//	  "admin":
//	    password: "$2y$05$…"          # bcrypt, from htpasswd -nB admin
//	    labels: {group: [admins]}
//	  "": {}                          # the anonymous user: no docker login
//
// It owns that map's strict decoding (Users, which wharf.yml embeds) and
// its password checks. It imports authn, wharf/internal/auth, auth/password
// (bcrypt), keyhint and yaml.v3; never net/http or config, which sits
// above it.
package static
