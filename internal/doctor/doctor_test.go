package doctor

import (
	"crypto"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wharf/internal/auth/token"
	"wharf/internal/config"
)

// pair writes a key and a self-signed certificate valid for validity.
func pair(t *testing.T, dir, name string, validity time.Duration) (crypto.Signer, *x509.Certificate, string, string) {
	t.Helper()
	key, err := token.GenerateKey(token.KeyECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := token.SelfSignedCert(key, name, validity)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := token.EncodePrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPath, certPath := filepath.Join(dir, name+".key"), filepath.Join(dir, name+".crt")
	if err := os.WriteFile(keyPath, kp, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certPath, token.EncodeCertificatesPEM(cert), 0o644); err != nil {
		t.Fatal(err)
	}
	return key, cert, keyPath, certPath
}

func find(r *Report, check string) []Result {
	var out []Result
	for _, res := range r.Results {
		if strings.HasPrefix(res.Check, check) {
			out = append(out, res)
		}
	}
	return out
}

func TestSplitSetups(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, _, keyPath, certPath := pair(t, dir, "auth", 365*24*time.Hour)
	_, _, otherKey, otherCert := pair(t, dir, "other", 365*24*time.Hour)
	_, _, _, shortCert := pair(t, dir, "short", 10*24*time.Hour)
	base := func() (config.Config, config.Config) {
		reg := config.Default()
		reg.Role, reg.Data = config.RoleRegistry, filepath.Join(dir, "data")
		reg.Token = config.Token{Issuer: "Auth Service", Service: "Docker registry", Realm: "https://auth.example.com:5001/auth", RootCertBundle: certPath}
		au := config.Default()
		au.Role, au.Addr = config.RoleAuth, ":5001"
		au.Token = config.Token{Issuer: "Auth Service", Certificate: certPath, Key: keyPath}
		return reg, au
	}
	tests := []struct {
		name   string
		break_ func(reg, au *config.Config)
		check  string
		want   Status
	}{
		{"all good", func(*config.Config, *config.Config) {}, "issuer", Pass},
		{"quoted issuer", func(reg, _ *config.Config) { reg.Token.Issuer = `"Auth Service"` }, "issuer", Fail},
		{"other issuer", func(reg, _ *config.Config) { reg.Token.Issuer = "Someone" }, "issuer", Fail},
		{"bundle without the signing certificate", func(reg, _ *config.Config) { reg.Token.RootCertBundle = otherCert }, "rootcertbundle", Fail},
		{"key of another certificate", func(_, au *config.Config) { au.Token.Key = otherKey }, "token-signing key", Fail},
		{"certificate expiring in 10 days", func(reg, _ *config.Config) { reg.Token.RootCertBundle = shortCert }, "rootcertbundle expiry", Fail},
		{"realm on another port", func(reg, _ *config.Config) { reg.Token.Realm = "https://auth.example.com/auth" }, "realm", Warn},
		{"data directory not writable", func(reg, _ *config.Config) { reg.Data = "/proc/wharf" }, "data directory", Fail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg, au := base()
			tc.break_(&reg, &au)
			r := &Report{}
			checkConsistency(r, Setup{Registry: &reg, Auth: &au})
			checkCertificates(r, Setup{Registry: &reg, Auth: &au})
			checkData(t.Context(), r, Setup{Registry: &reg})
			got := find(r, tc.check)
			if len(got) == 0 {
				t.Fatalf("no %q check in %+v", tc.check, r.Results)
			}
			worst := Pass
			for _, g := range got {
				if g.Status == Fail || (g.Status == Warn && worst == Pass) {
					worst = g.Status
				}
			}
			if worst != tc.want {
				t.Fatalf("%s: %v, want %v: %+v", tc.check, worst, tc.want, got)
			}
			if tc.want == Fail && r.OK() {
				t.Error("a failed check left the report OK")
			}
			if tc.want == Pass && !r.OK() {
				t.Errorf("a sound setup failed: %+v", r.Results)
			}
			for _, g := range got {
				if g.Status != Pass && g.Status != Skip && g.Fix == "" {
					t.Errorf("%s has no fix: %+v", g.Check, g)
				}
			}
		})
	}
}

// TestQuotedValuesAdvice: an issuer or service that kept a pair of quotes
// is blamed on the value (quoted twice), never on compose's list syntax,
// which distribution and wharf decode correctly.
func TestQuotedValuesAdvice(t *testing.T) {
	t.Parallel()
	serve := config.Default()
	serve.Token.Issuer = `"wharf"`
	reg, au := config.Default(), config.Default()
	reg.Token.Issuer, au.Token.Issuer = `"Auth Service"`, "Auth Service"
	r := &Report{}
	checkConsistency(r, Setup{Serve: &serve, Registry: &reg, Auth: &au, RegistryWarnings: []string{config.QuotesAdvice("auth.token.issuer", reg.Token.Issuer)}})
	for _, check := range []string{"token settings", "issuer", "registry config"} {
		got := find(r, check)
		if len(got) == 0 || got[0].Status == Pass {
			t.Fatalf("%s: %+v, want a warning or failure", check, got)
		}
		for _, text := range []string{got[0].Detail, got[0].Fix} {
			if strings.Contains(text, "compose") {
				t.Errorf("%s blames compose: %+v", check, got[0])
			}
		}
		if !strings.Contains(got[0].Detail+got[0].Fix, "quote") {
			t.Errorf("%s does not speak of the quotes: %+v", check, got[0])
		}
	}
	if got := find(r, "token settings")[0].Detail; !strings.Contains(got, "quote it once or not at all: wharf") {
		t.Errorf("token settings do not give the value to write: %s", got)
	}
}
