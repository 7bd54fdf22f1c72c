package distribution

import (
	"log/slog"
	"testing"

	"wharf/internal/config"
)

// FuzzLoad feeds arbitrary YAML and one arbitrary REGISTRY_* variable to the
// loader: it must never panic, and whatever it accepts is a registry config.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(builtinConfig), "AUTH", "token")
	f.Add([]byte(minimal+"auth:\n  token: {realm: r, service: s, issuer: i, rootcertbundle: b, autoredirect: true}\n"), "HTTP_TLS_CLIENTCAS_0", "/ca.pem")
	f.Add([]byte("version: 0.1\nstorage: &s {filesystem: *s}\n"), "STORAGE_FILESYSTEM_ROOTDIRECTORY", "/x")
	f.Add([]byte("version: 0.1\nstorage: filesystem\nhttp: &h {headers: {X: *h}}\n"), "HTTP_HEADERS_X", "[a]")
	f.Add([]byte("version: 0.1\nstorage: filesystem\nhealth: {file: [{file: a}]}\n"), "HEALTH_FILECHECKERS_1_FILE", "b")
	f.Add([]byte("- a\n"), "", "")
	f.Add([]byte("version: 0.1\n? [a]\n: b\n"), "LOG_FIELDS_X", "{a: [b, {c: d}]}")
	log := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, file []byte, name, value string) {
		c, err := load(file, "fuzz.yml", []string{"REGISTRY_" + name + "=" + value}, log)
		if err == nil && c.Role != config.RoleRegistry {
			t.Fatalf("loaded a config for role %q", c.Role)
		}
		_ = Warnings(c)
	})
}
