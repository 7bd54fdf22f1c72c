package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// refusalCase is a configuration a server command must refuse and wharf
// doctor must report, each naming the same problem.
type refusalCase struct {
	name string
	// role is "serve", "registry" or "auth"; file is the configuration
	// with {{dir}} standing for a directory holding certificates.
	role, file string
	// want is in both the doctor's failed check and the server's error.
	want []string
}

// doctorFlag is the doctor's flag for a role's configuration.
var doctorFlag = map[string]string{"serve": "--config", "registry": "--registry-config", "auth": "--auth-config"}

const (
	goodRegistry = `version: 0.1
storage:
  filesystem:
    rootdirectory: {{data}}
http:
  addr: 127.0.0.1:0
auth:
  token:
    realm: https://auth.example.com:5001/auth
    service: Docker registry
    issuer: Auth Service
    rootcertbundle: {{dir}}/token.crt
`
	goodAuth = `server:
  addr: "127.0.0.1:0"
token:
  issuer: "Auth Service"
  expiration: 900
  certificate: {{dir}}/token.crt
  key: {{dir}}/token.key
users:
  "admin":
    password: "$2y$05$LO.vzwpWC5LZGqThvEfznu8qhb5SGqvBSWY1J3yZ4AxtMRZ3kN5jC"
acl:
  - match: {account: "admin"}
    actions: ["*"]
`
	goodServe = "addr: 127.0.0.1:0\ndata: {{data}}\ntls: off\n"
)

// TestDoctorReportsWhatServersRefuse: for each mistake a server command
// refuses to start with, wharf doctor fails with a check that names the
// same problem and a fix, instead of stopping at the first or, worse,
// saying all is well.
func TestDoctorReportsWhatServersRefuse(t *testing.T) {
	t.Parallel()
	certDir := filepath.Join(t.TempDir(), "certs")
	if _, err := runCerts(t, "init", "--dir", certDir, "--name", "localhost"); err != nil {
		t.Fatal(err)
	}
	tests := []refusalCase{
		{"serve: misspelled ACL key", "serve", goodServe + "acl:\n  - match: {acount: admin}\n    actions: [\"*\"]\n",
			[]string{`unknown key "acount" in match (did you mean "account"?)`}},
		{"serve: plain-text password", "serve", goodServe + "users:\n  alice:\n    password: secret\n",
			[]string{`user "alice": password: not a bcrypt hash`}},
		{"serve: empty password", "serve", goodServe + "users:\n  bob:\n    password: \"\"\n",
			[]string{`user "bob": password: not a bcrypt hash: the password is empty`}},
		{"serve: unknown top-level key", "serve", goodServe + "adrr: :5000\n", []string{`unknown key "adrr" (did you mean addr?)`}},
		{"serve: unknown nested key", "serve", goodServe + "log:\n  levle: debug\n", []string{`levle`, `did you mean level?`}},
		{"serve: bad value", "serve", goodServe + "auth: magic\n", []string{`auth: "magic" is not one of token, htpasswd, none`}},
		{"registry: unknown top-level key", "registry", goodRegistry + "notifcations: {}\n", []string{"notifcations", "notifications"}},
		{"registry: unknown nested key", "registry", strings.Replace(goodRegistry, "  addr:", "  adr:", 1), []string{"http.adr"}},
		{"auth: misspelled ACL key", "auth", strings.Replace(goodAuth, "{account:", "{acount:", 1),
			[]string{`unknown key "acount" in match (did you mean "account"?)`}},
		{"auth: unknown top-level key", "auth", goodAuth + "tokn: {}\n", []string{"unknown key tokn", "did you mean token?"}},
		{"auth: plain-text password", "auth", strings.Replace(goodAuth, `"$2y$05$LO.vzwpWC5LZGqThvEfznu8qhb5SGqvBSWY1J3yZ4AxtMRZ3kN5jC"`, "admin", 1),
			[]string{`user "admin": password: not a bcrypt hash`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkRefusal(t, tc, certDir)
		})
	}
	// The same files without the mistake: the doctor finds nothing to
	// refuse, so its failures above are the mistakes'.
	for role, good := range map[string]string{"serve": goodServe, "registry": goodRegistry, "auth": goodAuth} {
		data := filepath.Join(t.TempDir(), "data")
		path := writeFile(t, expand(good, certDir, data))
		out, _, _ := runDoctor(t, doctorFlag[role], path)
		if strings.Contains(out, "FAIL  config") {
			t.Errorf("doctor refuses the good %s config:\n%s", role, out)
		}
	}
}

// checkRefusal runs the server command and the doctor on tc's file.
func checkRefusal(t *testing.T, tc refusalCase, certDir string) {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	path := writeFile(t, expand(tc.file, certDir, data))

	out, errOut, code := runDoctor(t, doctorFlag[tc.role], path)
	if code == 0 {
		t.Errorf("doctor passed what %s refuses:\n%s", tc.role, out)
	}
	if strings.Contains(errOut, "invalid configuration") {
		t.Errorf("doctor stopped at the configuration instead of reporting it:\n%s", errOut)
	}
	for _, w := range tc.want {
		if !strings.Contains(out, w) {
			t.Errorf("doctor's report lacks %q:\n%s", w, out)
		}
	}
	if !strings.Contains(out, "FAIL  config "+path) || !strings.Contains(out, "fix: ") {
		t.Errorf("doctor's report has no failed config check with a fix:\n%s", out)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var sOut, sErr bytes.Buffer
	args := []string{tc.role, "--config", path}
	if tc.role == "auth" {
		args = append(args, "--data", data)
	}
	if code := Run(ctx, args, &sOut, &sErr); code == 0 {
		t.Fatalf("wharf %s accepted the file: %s", tc.role, sErr.String())
	}
	for _, w := range tc.want {
		if !strings.Contains(sErr.String(), w) {
			t.Errorf("wharf %s's error lacks %q:\n%s", tc.role, w, sErr.String())
		}
	}
	if _, err := os.Stat(data); err == nil {
		t.Errorf("wharf %s created %s before refusing the configuration", tc.role, data)
	}
}

func runDoctor(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(t.Context(), append([]string{"doctor"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

func expand(s, certDir, data string) string {
	return strings.NewReplacer("{{dir}}", certDir, "{{data}}", data).Replace(s)
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDoctorReportsRegistryVariables: REGISTRY_* variables are read by
// wharf doctor as wharf registry reads them: a misspelled one is refused
// by both, and the doctor names the variable it meant. t.Setenv: not
// parallel.
func TestDoctorReportsRegistryVariables(t *testing.T) {
	certDir := filepath.Join(t.TempDir(), "certs")
	if _, err := runCerts(t, "init", "--dir", certDir, "--name", "localhost"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, env, value string
		want             []string
	}{
		{"misspelled variable", "REGISTRY_HTTP_ADRR", ":5000", []string{"REGISTRY_HTTP_ADRR: unknown key http.adrr (did you mean addr?)"}},
		{"bad value", "REGISTRY_STORAGE_DELETE_ENABLED", "maybe", []string{`REGISTRY_STORAGE_DELETE_ENABLED: storage.delete.enabled: "maybe" is not true or false`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(tc.env, tc.value)
			checkRefusal(t, refusalCase{name: tc.name, role: "registry", file: goodRegistry, want: tc.want}, certDir)
		})
	}
	t.Setenv("REGISTRY_HTTP_ADRR", ":5000")
	out, _, _ := runDoctor(t, "--registry-config", writeFile(t, expand(goodRegistry, certDir, t.TempDir())))
	if !strings.Contains(out, "fix: rename the variable to REGISTRY_HTTP_ADDR") {
		t.Errorf("the fix does not name the variable meant:\n%s", out)
	}
}
