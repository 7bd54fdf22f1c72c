package config

// The web interface (docs/ui.md) signs people in with the token server's
// accounts and shows them what the ACL lets them pull, so it exists only
// where both are: `wharf serve` with auth: token. It is on there unless
// the file says `ui: false`; a pointer tells "not said" from "false".

// UIServed reports whether `wharf serve` serves the web interface under
// /ui/: on by default with auth: token, off when ui: false.
func (c Config) UIServed() bool {
	if c.Role != RoleAllInOne || c.Auth != "token" {
		return false
	}
	return c.UI == nil || *c.UI
}
