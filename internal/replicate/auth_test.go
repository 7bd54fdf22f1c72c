package replicate

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

func TestAuthFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "config.json")
	auth := base64.StdEncoding.EncodeToString([]byte("alice:s3cret-pw"))
	if err := os.WriteFile(good, []byte(`{"auths":{"reg.example:5000":{"auth":"`+auth+`"},"https://index.docker.io/v1/":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	kc, err := AuthFile(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		registry string
		user     string // "" for anonymous
	}{
		{"reg.example:5000", "alice"},
		{name.DefaultRegistry, "alice"}, // docker.io's key is docker's legacy URL
		{"other.example", ""},
	} {
		reg, err := name.NewRegistry(tc.registry)
		if err != nil {
			t.Fatal(err)
		}
		a, err := kc.Resolve(reg)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := a.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		if tc.user == "" && a != authn.Anonymous {
			t.Errorf("%s: got credentials %q; want anonymous", tc.registry, cfg.Username)
		} else if tc.user != "" && (cfg.Username != tc.user || cfg.Password != "s3cret-pw") {
			t.Errorf("%s: user %q; want %q with its password", tc.registry, cfg.Username, tc.user)
		}
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"auths": "s3cret-pw"`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := AuthFile(bad); err == nil || strings.Contains(err.Error(), "s3cret-pw") || !strings.Contains(err.Error(), bad) {
		t.Errorf("AuthFile(bad) = %v; want an error naming the file and not quoting it", err)
	}
	if _, err := AuthFile(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("AuthFile(missing) succeeded")
	}
	if kc, err := AuthFile(""); err != nil || kc != authn.DefaultKeychain {
		t.Errorf("AuthFile(\"\") = %v, %v; want docker's keychain", kc, err)
	}
}
