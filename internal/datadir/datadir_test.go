package datadir_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/datadir"
)

// TestLayout pins the layout: these paths are in operators' backups,
// scripts and docs (configuration.md's table), and a running wharf finds
// its files there after an upgrade.
func TestLayout(t *testing.T) {
	t.Parallel()
	d := datadir.New("/srv/wharf")
	got := map[string]string{
		"Root": d.Root(), "Blobs": d.Blobs(), "Database": d.Database(),
		"TLS": d.TLS(), "TLSCACert": d.TLSCACert(), "TLSServerCert": d.TLSServerCert(), "TLSServerKey": d.TLSServerKey(),
		"ACME": d.ACME(), "Auth": d.Auth(), "TokenKey": d.TokenKey(), "TokenCert": d.TokenCert(),
		"AdminHash": d.AdminHash(), "AdminHashMigrated": d.AdminHashMigrated(), "AdminPassword": d.AdminPassword(), "SignIns": d.SignIns(), "LockFile": d.LockFile(),
		"UpstreamCredentialsKey": d.UpstreamCredentialsKey(),
	}
	want := map[string]string{
		"Root": "/srv/wharf", "Blobs": "/srv/wharf/blobs", "Database": "/srv/wharf/wharf.db",
		"TLS": "/srv/wharf/tls", "TLSCACert": "/srv/wharf/tls/ca.crt", "TLSServerCert": "/srv/wharf/tls/server.crt", "TLSServerKey": "/srv/wharf/tls/server.key",
		"ACME": "/srv/wharf/acme", "Auth": "/srv/wharf/auth", "TokenKey": "/srv/wharf/auth/token.key", "TokenCert": "/srv/wharf/auth/token.crt",
		"AdminHash": "/srv/wharf/auth/admin.htpasswd", "AdminHashMigrated": "/srv/wharf/auth/admin.htpasswd.migrated", "AdminPassword": "/srv/wharf/auth/admin.password", "SignIns": "/srv/wharf/auth/sign-ins.db",
		"LockFile": "/srv/wharf/serve.lock", "UpstreamCredentialsKey": "/srv/wharf/auth/upstream-credentials.key",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("layout (-want +got):\n%s", diff)
	}
}

// TestCreate makes the directory and auth/ private, and keeps the mode of
// a directory made beforehand.
func TestCreate(t *testing.T) {
	t.Parallel()
	d := datadir.New(filepath.Join(t.TempDir(), "data", "nested"))
	if err := d.Create(); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateAuth(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{d.Root(), d.Auth()} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v, %v; want a directory of mode 0700", p, fi.Mode(), err)
		}
	}
	loose := t.TempDir()
	if err := os.Chmod(loose, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := datadir.New(loose).Create(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(loose); fi.Mode().Perm() != 0o755 {
		t.Errorf("an existing directory's mode changed to %04o", fi.Mode().Perm())
	}
	if err := os.WriteFile(d.AdminHash(), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := datadir.New(filepath.Join(d.AdminHash(), "x")).Create(); err == nil || !strings.Contains(err.Error(), "check --data") {
		t.Errorf("Create under a file: %v; want an error naming the fix", err)
	}
}

func TestCheckModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		dirMode        os.FileMode
		files          map[string]os.FileMode
		want, dontWant []string
	}{
		{"private", 0o700, map[string]os.FileMode{"auth/token.key": 0o600, "auth/token.crt": 0o644, "tls/ca.key": 0o600}, nil,
			[]string{"WARN"}},
		{"directory readable by all", 0o755, nil, []string{"level=WARN", "is open to group or others (mode 0755)", "run chmod 700 "}, nil},
		{"group-readable directory", 0o750, nil, []string{"(mode 0750)", "run chmod 700 "}, nil},
		{"loose keys", 0o700, map[string]os.FileMode{"auth/token.key": 0o644, "auth/token.crt": 0o644, "tls/ca.key": 0o640, "tls/ca.crt": 0o644, "acme/acme_account+key": 0o600},
			[]string{"run chmod 600 ", "auth/token.key", "tls/ca.key"}, []string{"token.crt", "ca.crt", "acme_account", "chmod 700"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "data")
			for name, mode := range tc.files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("x"), mode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(p, mode); err != nil { // past the umask
					t.Fatal(err)
				}
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tc.dirMode); err != nil {
				t.Fatal(err)
			}
			var logs strings.Builder
			datadir.New(dir).CheckModes(slog.New(slog.NewTextHandler(&logs, nil)))
			for _, w := range tc.want {
				if !strings.Contains(logs.String(), strings.ReplaceAll(w, "chmod 700 ", "chmod 700 "+dir)) {
					t.Errorf("log lacks %q:\n%s", w, logs.String())
				}
			}
			for _, w := range tc.dontWant {
				if strings.Contains(logs.String(), w) {
					t.Errorf("log has %q:\n%s", w, logs.String())
				}
			}
		})
	}
}
