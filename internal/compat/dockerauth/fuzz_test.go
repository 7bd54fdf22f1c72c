package dockerauth

import (
	"log/slog"
	"testing"

	"wharf/internal/config"
)

// FuzzLoad feeds arbitrary YAML to the loader: it must never panic, and
// whatever it accepts is a token-server config with users and an ACL.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(classicAuth))
	f.Add([]byte("server: {addr: :1, real_ip_header: X, letsencrypt: {email: e}}\ntoken: {issuer: i, expiration: 1, certificate: c, key: k}\nusers: &u {a: *u}\nacl: &a [{match: {ip: *a}}]\n"))
	f.Add([]byte("server: &s {addr: *s}\ntoken: *s\n"))
	f.Add([]byte("- a\n"))
	f.Add([]byte("ldap_auth: {}\nacl: {}\n? [x]\n: y\n"))
	log := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, file []byte) {
		c, err := load(file, "fuzz.yml", log)
		if err != nil {
			return
		}
		if c.Role != config.RoleAuth || c.Users == nil || !c.ACL.Given {
			t.Fatalf("loaded role %q, users %v, acl given %v", c.Role, c.Users, c.ACL.Given)
		}
		_ = Warnings(c)
	})
}
