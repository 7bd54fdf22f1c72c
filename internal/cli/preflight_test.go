package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestPreflightStopsBeforeAnythingIsCreated: every setting a server can
// judge without serving (names for certificates, the files it would read,
// ACME's settings, the DSN's shape, listen addresses) is checked before
// it creates its data directory, database or token key, and wharf doctor
// refuses the same file with the same words. Without the preflight, serve
// made wharf.db and auth/token.key first and failed only then.
func TestPreflightStopsBeforeAnythingIsCreated(t *testing.T) {
	t.Parallel()
	certDir := filepath.Join(t.TempDir(), "certs")
	if _, err := runCerts(t, "init", "--dir", certDir, "--name", "localhost"); err != nil {
		t.Fatal(err)
	}
	withTLS := func(tls string) string { return strings.Replace(goodServe, "tls: off\n", tls, 1) }
	tests := []refusalCase{
		{"serve: a name no certificate can hold", "serve", withTLS("tls: auto\ntls_names: [\"registry.example.com\", \"bad name\"]\n"),
			[]string{"tls_names[1]:", "bad name"}},
		{"serve: missing TLS files", "serve", withTLS("tls: files\ntls_files:\n  certificate: {{dir}}/missing.crt\n  key: {{dir}}/server.key\n"),
			[]string{"tls_files:", "missing.crt", "no such file"}},
		{"serve: a TLS key of another certificate", "serve", withTLS("tls: files\ntls_files:\n  certificate: {{dir}}/server.crt\n  key: {{dir}}/token.key\n"),
			[]string{"tls_files:", "private key does not match public key"}},
		{"serve: client CAs without a certificate", "serve", withTLS("tls: files\ntls_files:\n  certificate: {{dir}}/server.crt\n  key: {{dir}}/server.key\n  client_cas: [{{dir}}/server.key]\n"),
			[]string{"tls_files.client_cas[0]:", "holds no PEM certificate"}},
		{"serve: an ACME e-mail that is none", "serve", withTLS("tls: acme\nacme:\n  email: ops.example.com\n  domains: [registry.example.com]\n"),
			[]string{`acme.email: "ops.example.com" is not an e-mail address`}},
		{"serve: an ACME directory that is no URL", "serve", withTLS("tls: acme\nacme:\n  directory: acme.example.com/directory\n  domains: [registry.example.com]\n"),
			[]string{"acme.directory:", "is not an http(s) URL"}},
		{"serve: a token key of another certificate", "serve", goodServe + "token:\n  certificate: {{dir}}/token.crt\n  key: {{dir}}/server.key\n",
			[]string{"does not belong to the certificate", "token.crt"}},
		{"serve: a missing token key", "serve", goodServe + "token:\n  certificate: {{dir}}/token.crt\n  key: {{dir}}/nokey.key\n",
			[]string{"token.key:", "nokey.key"}},
		{"serve: a URL as MySQL DSN", "serve", goodServe + "database:\n  driver: mysql\n  dsn: mysql://wharf:s3cr3t-pw@db:3306/wharf\n",
			[]string{"database.dsn:", "not a URL", "tcp(host:3306)"}},
		{"serve: a PostgreSQL DSN of another scheme", "serve", goodServe + "database:\n  driver: postgres\n  dsn: mysql://wharf:s3cr3t-pw@db/wharf\n",
			[]string{"database.dsn:", `scheme "mysql"`}},
		{"serve: a missing DSN file", "serve", goodServe + "database:\n  driver: postgres\n  dsn_file: {{dir}}/dsn.txt\n",
			[]string{"dsn.txt"}},
		{"serve: a port that is no number", "serve", strings.Replace(goodServe, "addr: 127.0.0.1:0", "addr: 127.0.0.1:http5000", 1),
			[]string{`addr: "127.0.0.1:http5000": the port "http5000" is not a number`}},
		{"serve: a listen address without a port", "serve", goodServe + "debug_addr: localhost\n",
			[]string{`debug_addr: "localhost" is not host:port`}},
		{"serve: a webhook CA bundle without a certificate", "serve", goodServe + "webhook_authz:\n  url: https://hooks.internal/authz\n  ca_certificate: {{dir}}/server.key\n",
			[]string{"webhook_authz.ca_certificate:", "server.key holds no PEM certificate"}},
		{"serve: a missing webhook secret file", "serve", goodServe + "webhook_auth:\n  url: https://hooks.internal/authn\n  secret_header: X-Secret\n  secret_file: {{dir}}/hook.secret\n",
			[]string{"webhook_auth.secret_file:", "hook.secret", "no such file"}},
		{"registry: a missing root certificate bundle", "registry", strings.Replace(goodRegistry, "{{dir}}/token.crt", "{{dir}}/missing.crt", 1),
			[]string{"token.rootcertbundle:", "missing.crt"}},
		{"auth: a token key of another certificate", "auth", strings.Replace(goodAuth, "{{dir}}/token.key", "{{dir}}/server.key", 1),
			[]string{"does not belong to the certificate"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkRefusal(t, tc, certDir)
		})
	}
}

// TestTLSNameFlag: --tls-name is repeatable and reaches tls_names, where a
// name no certificate can hold is refused with the flag that gave it.
func TestTLSNameFlag(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	_, errOut, err := runCLI(t, "", "serve", "--data", data, "--addr", "127.0.0.1:0",
		"--tls-name", "registry.example.com", "--tls-name", "10.0.0.3,bad_name")
	if err == nil {
		t.Fatal("serve accepted a name no certificate can hold")
	}
	for _, want := range []string{"tls_names[2]:", "bad_name", "(from --tls-name)"} {
		if !strings.Contains(errOut+err.Error(), want) {
			t.Errorf("the refusal lacks %q:\n%s%v", want, errOut, err)
		}
	}
}
