package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCerts(t *testing.T, args ...string) (stdout string, err error) {
	t.Helper()
	cmd := newCerts()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(t.Context())
	return out.String(), err
}

func TestCertsInitAndShow(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "certs")
	out, err := runCerts(t, "init", "--dir", dir, "--name", "registry.example.com", "--name", "localhost", "--ip", "10.0.0.3", "--days", "30")
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"ca.crt", "ca.key", "server.crt", "server.key", "token.crt", "token.key"}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if !strings.Contains(out, "  "+f+"\n") {
			t.Errorf("output does not list %s", f)
		}
	}
	if strings.Contains(out, "update-ca-certificates") {
		t.Errorf("next steps recommend the system store:\n%s", out)
	}
	for _, s := range []string{"/etc/docker/certs.d/registry.example.com:5000/ca.crt", "/etc/containers/certs.d/registry.example.com:5000/ca.crt",
		"may sign only for registry.example.com, localhost, 10.0.0.3", "tls_files:", "rootcertbundle: " + filepath.Join(dir, "token.crt"), "certificate: " + filepath.Join(dir, "server.crt")} {
		if !strings.Contains(out, s) {
			t.Errorf("next steps lack %q:\n%s", s, out)
		}
	}

	out, err = runCerts(t, "show", filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"DNS names:      registry.example.com, localhost", "IP addresses:   10.0.0.3",
		"issuer:         CN=Wharf CA", "expires in 30 days", "private key #1", "ECDSA P-256"} {
		if !strings.Contains(out, s) {
			t.Errorf("show output lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "BEGIN") {
		t.Errorf("show printed PEM:\n%s", out)
	}
	out, err = runCerts(t, "show", filepath.Join(dir, "ca.crt"))
	want := "constraints:    permitted DNS registry.example.com, permitted DNS localhost, permitted IP 10.0.0.3/32"
	if err != nil || !strings.Contains(out, want) {
		t.Errorf("show ca.crt: %v, want %q in\n%s", err, want, out)
	}

	_, err = runCerts(t, "init", "--dir", dir, "--name", "registry.example.com")
	if err == nil || !strings.Contains(err.Error(), "--force") || !strings.Contains(err.Error(), "ca.crt") {
		t.Fatalf("second init: err = %v, want it to name ca.crt and --force", err)
	}
	if _, err := runCerts(t, "init", "--dir", dir, "--name", "registry.example.com", "--key-type", "rsa", "--no-ca-key", "--force"); err != nil {
		t.Fatalf("init --force: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ca.key")); err == nil {
		t.Error("ca.key kept with --no-ca-key")
	}
	out, err = runCerts(t, "show", filepath.Join(dir, "server.key"))
	if err != nil || !strings.Contains(out, "RSA 2048") {
		t.Errorf("show after --key-type rsa: %v\n%s", err, out)
	}
}

func TestCertsErrorsNameTheFix(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no dir", []string{"init", "--name", "a.example"}, "--dir"},
		{"no name", []string{"init", "--dir", dir}, "--name"},
		{"host in --ip", []string{"init", "--dir", dir, "--ip", "a.example"}, "--name"},
		{"port in name", []string{"init", "--dir", dir, "--name", "a.example:5000"}, "without the port"},
		{"bad key type", []string{"init", "--dir", dir, "--name", "a.example", "--key-type", "dsa"}, "ecdsa, rsa"},
		{"bad days", []string{"init", "--dir", dir, "--name", "a.example", "--days", "0"}, "--days"},
		{"show nothing", []string{"show"}, "arg"},
		{"show missing", []string{"show", filepath.Join(dir, "nope.crt")}, "nope.crt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := runCerts(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed commands wrote %d files", len(entries))
	}
}

// TestCertsInitNamesTheRegistryHost: Docker keys certs.d/ by the host in
// image names, so the next steps must never pick the first --name (an
// auth server's) as the registry's.
func TestCertsInitNamesTheRegistryHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		args          []string
		want, notWant []string
		wantErr       string
	}{
		{
			name:    "several names: the steps for each, none assumed",
			args:    []string{"--name", "auth-server", "--name", "registry"},
			want:    []string{"certs.d/registry:5000/ca.crt", "certs.d/auth-server:5000/ca.crt", "# if images are named registry:5000/", "--registry-name"},
			notWant: []string{"Trust the CA for this registry only"},
		},
		{
			name:    "--registry-name picks one",
			args:    []string{"--name", "auth-server", "--name", "registry", "--registry-name", "registry"},
			want:    []string{"/etc/docker/certs.d/registry:5000/ca.crt", "/etc/containers/certs.d/registry:5000/ca.crt"},
			notWant: []string{"auth-server:5000", "# if images"},
		},
		{
			name:    "--registry-name may be an address",
			args:    []string{"--name", "auth-server", "--ip", "10.0.0.3", "--registry-name", "10.0.0.3"},
			want:    []string{"/etc/docker/certs.d/10.0.0.3:5000/ca.crt"},
			notWant: []string{"auth-server:5000"},
		},
		{
			name:    "--registry-name not among the names",
			args:    []string{"--name", "auth-server", "--registry-name", "registry"},
			wantErr: `--registry-name "registry" is not one of the certificate's names (auth-server); add it with --name or --ip`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "certs")
			out, err := runCerts(t, append([]string{"init", "--dir", dir}, tc.args...)...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if _, err := os.Stat(dir); err == nil {
					t.Error("the directory was created although the flags were refused")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.want {
				if !strings.Contains(out, s) {
					t.Errorf("next steps lack %q:\n%s", s, out)
				}
			}
			for _, s := range tc.notWant {
				if strings.Contains(out, s) {
					t.Errorf("next steps contain %q:\n%s", s, out)
				}
			}
		})
	}
}
