package certs

import (
	"bytes"
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/auth/token"
)

func TestInit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      InitOptions
		wantFiles []string
		wantKey   string
		wantDays  int
	}{
		{"defaults", InitOptions{Names: []string{"registry.example.com", "10.0.0.3"}},
			[]string{"ca.crt", "ca.key", "server.crt", "server.key", "token.crt", "token.key"}, "ECDSA P-256", 397},
		{"no CA key", InitOptions{Names: []string{"registry.example.com"}, NoCAKey: true},
			[]string{"ca.crt", "server.crt", "server.key", "token.crt", "token.key"}, "ECDSA P-256", 397},
		{"rsa and days", InitOptions{Names: []string{"auth-server.io"}, KeyKind: token.KeyRSA2048, ServerValidity: 391 * 24 * time.Hour},
			[]string{"ca.crt", "ca.key", "server.crt", "server.key", "token.crt", "token.key"}, "RSA 2048", 391},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "certs")
			tc.opts.Dir = dir
			files, err := Init(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range files.Paths() {
				got = append(got, filepath.Base(p))
			}
			if d := cmp.Diff(tc.wantFiles, got); d != "" {
				t.Errorf("Files (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.wantFiles, listDir(t, dir)); d != "" {
				t.Errorf("directory (-want +got):\n%s", d)
			}
			assertMode(t, dir, dirMode|fs.ModeDir)
			for _, name := range tc.wantFiles {
				want := certMode
				if strings.HasSuffix(name, ".key") {
					want = keyMode
				}
				assertMode(t, filepath.Join(dir, name), want)
			}

			ca := parseOne(t, readFile(t, files.CACert))
			server := parseOne(t, readFile(t, files.ServerCert))
			pool := x509.NewCertPool()
			pool.AddCert(ca)
			if _, err := server.Verify(x509.VerifyOptions{DNSName: tc.opts.Names[0], Roots: pool}); err != nil {
				t.Errorf("server.crt does not verify against ca.crt: %v", err)
			}
			if days := int(server.NotAfter.Sub(server.NotBefore.Add(backdate)).Hours() / 24); days != tc.wantDays {
				t.Errorf("server certificate valid %d days, want %d", days, tc.wantDays)
			}
			tokenCert := parseOne(t, readFile(t, files.TokenCert))
			if err := token.CheckTrust([]*x509.Certificate{tokenCert}, tokenCert); err != nil {
				t.Errorf("token.crt as rootcertbundle: %v", err)
			}
			infos, err := Describe(readFile(t, files.ServerKey))
			if err != nil || infos[0].Key != tc.wantKey {
				t.Errorf("server key = %+v, %v; want %s", infos, err, tc.wantKey)
			}
		})
	}
}

func TestInitRefusesToOverwrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opts := InitOptions{Dir: dir, Names: []string{"registry.example.com"}}
	first, err := Init(opts)
	if err != nil {
		t.Fatal(err)
	}
	before := readFile(t, first.CACert)

	_, err = Init(opts)
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "--force") || !strings.Contains(err.Error(), "ca.crt") {
		t.Fatalf("second Init: err = %v, want ErrExists naming ca.crt and --force", err)
	}
	if !bytes.Equal(before, readFile(t, first.CACert)) {
		t.Fatal("a refused Init changed ca.crt")
	}

	// One leftover file is enough to refuse, and nothing is written.
	dir2 := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir2, "token.key"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Init(InitOptions{Dir: dir2, Names: []string{"a.example"}}); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "token.key") {
		t.Fatalf("err = %v, want ErrExists naming token.key", err)
	}
	if d := cmp.Diff([]string{"token.key"}, listDir(t, dir2)); d != "" {
		t.Errorf("refused Init wrote files (-want +got):\n%s", d)
	}

	// --force replaces everything; with NoCAKey the old key goes too.
	opts.Force, opts.NoCAKey = true, true
	if _, err := Init(opts); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(before, readFile(t, first.CACert)) {
		t.Error("forced Init kept the old CA")
	}
	if _, err := os.Stat(first.CAKey); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ca.key still there after --force --no-ca-key: %v", err)
	}
}

func TestInitRejectsBadInput(t *testing.T) {
	t.Parallel()
	for _, opts := range []InitOptions{
		{Names: []string{"a.example"}},
		{Dir: t.TempDir()},
		{Dir: t.TempDir(), Names: []string{"a.example:5000"}},
		{Dir: t.TempDir(), Names: []string{"a.example"}, KeyKind: "dsa"},
	} {
		if _, err := Init(opts); err == nil {
			t.Errorf("Init(%+v) succeeded", opts)
		}
	}
}

func TestEnsureServerCert(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "tls")
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := start
	now := func() time.Time { return clock }
	names := []string{"localhost", "127.0.0.1"}
	const renew = 30 * 24 * time.Hour

	ensure := func(names []string) bool {
		t.Helper()
		res, err := EnsureServerCert(dir, AutoOptions{Names: names, RenewBefore: renew, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if res.CertPath != filepath.Join(dir, "server.crt") || res.KeyPath != filepath.Join(dir, "server.key") || res.CACert != filepath.Join(dir, "ca.crt") {
			t.Fatalf("paths %s, %s, %s", res.CertPath, res.KeyPath, res.CACert)
		}
		return res.Issued
	}

	if !ensure(names) {
		t.Fatal("first run: changed = false")
	}
	if d := cmp.Diff([]string{"ca.crt", "ca.key", "server.crt", "server.key"}, listDir(t, dir)); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
	assertMode(t, filepath.Join(dir, "server.key"), keyMode)
	assertMode(t, filepath.Join(dir, "ca.key"), keyMode)
	caPEM := readFile(t, filepath.Join(dir, "ca.crt"))
	leaf1 := readFile(t, filepath.Join(dir, "server.crt"))

	clock = start.Add(300 * 24 * time.Hour)
	if ensure(names) || ensure(names[:1]) {
		t.Fatal("valid certificate was reissued")
	}
	if !bytes.Equal(leaf1, readFile(t, filepath.Join(dir, "server.crt"))) {
		t.Fatal("server.crt changed without a reason")
	}

	clock = start.Add(380 * 24 * time.Hour) // 17 days left < 30
	if !ensure(names) {
		t.Fatal("certificate expiring within renewBefore was kept")
	}
	leaf2 := readFile(t, filepath.Join(dir, "server.crt"))
	if bytes.Equal(leaf1, leaf2) {
		t.Fatal("renewal did not change server.crt")
	}
	if !bytes.Equal(caPEM, readFile(t, filepath.Join(dir, "ca.crt"))) {
		t.Fatal("renewal replaced the CA")
	}
	verifyAt(t, caPEM, leaf2, "127.0.0.1", clock)

	// A name the CA may not sign for brings a new CA (TestCAReplaced
	// checks what clients see).
	if !ensure(append(names, "registry.internal")) {
		t.Fatal("new name did not trigger a reissue")
	}
	caPEM2 := readFile(t, filepath.Join(dir, "ca.crt"))
	if bytes.Equal(caPEM, caPEM2) {
		t.Fatal("a name outside the CA's constraints kept the CA")
	}
	verifyAt(t, caPEM2, readFile(t, filepath.Join(dir, "server.crt")), "registry.internal", clock)
	if ensure(append(names, "registry.internal")) {
		t.Fatal("reissued twice for the same names")
	}

	// Without ca.key: fine while nothing is due, an error naming it when
	// a renewal is.
	if err := os.Remove(filepath.Join(dir, "ca.key")); err != nil {
		t.Fatal(err)
	}
	if ensure(names) {
		t.Fatal("changed without a reason")
	}
	if _, err := EnsureServerCert(dir, AutoOptions{Names: []string{"new.example"}, RenewBefore: renew, Now: now}); err == nil || !strings.Contains(err.Error(), "ca.key") {
		t.Fatalf("err = %v, want it to name ca.key", err)
	}
	if _, err := EnsureServerCert(dir, AutoOptions{Names: []string{"bad name"}, RenewBefore: renew, Now: now}); !errors.Is(err, ErrName) {
		t.Fatalf("err = %v, want ErrName", err)
	}
}

func TestEnsureServerCertRepairs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
	}{
		{"missing key", func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, "server.key"))) }},
		{"garbage certificate", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, "server.crt"), []byte("junk"), 0o644))
		}},
		{"foreign certificate", func(t *testing.T, dir string) {
			other, err := Init(InitOptions{Dir: t.TempDir(), Names: []string{"localhost"}})
			must(t, err)
			must(t, os.WriteFile(filepath.Join(dir, "server.crt"), readFile(t, other.ServerCert), 0o644))
			must(t, os.WriteFile(filepath.Join(dir, "server.key"), readFile(t, other.ServerKey), 0o600))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			opts := AutoOptions{Names: []string{"localhost"}, RenewBefore: time.Hour}
			if _, err := EnsureServerCert(dir, opts); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, dir)
			res, err := EnsureServerCert(dir, opts)
			if err != nil || !res.Issued || res.NewCA {
				t.Fatalf("issued=%v newCA=%v err=%v, want a repair from the same CA", res.Issued, res.NewCA, err)
			}
			verifyAt(t, readFile(t, filepath.Join(dir, "ca.crt")), readFile(t, filepath.Join(dir, "server.crt")), "localhost", time.Now())
		})
	}

	t.Run("CA certificate missing", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		opts := AutoOptions{Names: []string{"localhost"}, RenewBefore: time.Hour}
		if _, err := EnsureServerCert(dir, opts); err != nil {
			t.Fatal(err)
		}
		must(t, os.Remove(filepath.Join(dir, "ca.crt")))
		if _, err := EnsureServerCert(dir, opts); err == nil || !strings.Contains(err.Error(), "ca.crt") {
			t.Fatalf("err = %v, want it to name ca.crt", err)
		}
	})
}

func verifyAt(t *testing.T, caPEM, leafPEM []byte, name string, at time.Time) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(parseOne(t, caPEM))
	if _, err := parseOne(t, leafPEM).Verify(x509.VerifyOptions{DNSName: name, Roots: pool, CurrentTime: at}); err != nil {
		t.Errorf("verify for %s at %s: %v", name, at.Format(time.DateOnly), err)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	order := map[string]int{"ca.crt": 0, "ca.key": 1, "server.crt": 2, "server.key": 3, "token.crt": 4, "token.key": 5}
	// Files.Paths order, so that one list serves both checks.
	slices.SortFunc(names, func(a, b string) int { return order[a] - order[b] })
	return names
}

func assertMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (fs.ModePerm | fs.ModeDir); got != want {
		t.Errorf("%s: mode %v, want %v", filepath.Base(path), got, want)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
