package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"wharf/e2e/harness"
	"wharf/internal/auth/token"
	"wharf/internal/testserver"
)

// LDAP users of the end-to-end tests: dana is in the group that may push,
// erin in none; passwords with the characters that trip parsers.
const (
	danaPassword = "dana:pässword 1"
	erinPassword = "erin-pw:2"
)

// seedLDAP adds people and groups under the directory's suffix.
func seedLDAP(t *testing.T, d *testserver.Slapd) (people, groups string) {
	t.Helper()
	people, groups = "ou=people,"+testserver.SlapdSuffix, "ou=groups,"+testserver.SlapdSuffix
	person := func(uid, pw, department string) testserver.Entry {
		return testserver.Entry{DN: "uid=" + uid + "," + people, Attrs: []testserver.Attr{
			{"objectClass", "inetOrgPerson"}, {"uid", uid}, {"cn", uid}, {"sn", uid},
			{"departmentNumber", department}, {"userPassword", testserver.SSHA(pw)}}}
	}
	d.Add(t,
		testserver.Entry{DN: people, Attrs: []testserver.Attr{{"objectClass", "organizationalUnit"}, {"ou", "people"}}},
		testserver.Entry{DN: groups, Attrs: []testserver.Attr{{"objectClass", "organizationalUnit"}, {"ou", "groups"}}},
		person("dana", danaPassword, "Platform"),
		person("erin", erinPassword, "Sales"),
		testserver.Entry{DN: "cn=pushers," + groups, Attrs: []testserver.Attr{
			{"objectClass", "groupOfNames"}, {"cn", "pushers"}, {"member", "uid=dana," + people}}},
	)
	return people, groups
}

// ldapAuthYAML is the ldap_auth section both docker tests use: ldaps with
// the test CA, the service account, and the group search under groups.
func ldapAuthYAML(slapd *testserver.Slapd, people, groups string) string {
	return fmt.Sprintf(`ldap_auth:
  addr: %q
  tls: always
  ca_certificate: %q
  bind_dn: %q
  bind_password_file: %q
  base: %q
  filter: (&(uid=${account})(objectClass=inetOrgPerson))
  group_base: %q
`, slapd.TLSAddr, slapd.CAFile, slapd.ReaderDN, slapd.ReaderPasswordFile, people, groups)
}

// TestDockerLDAPGroups logs the real docker client in to `wharf serve` as
// LDAP users (ldaps, the service account, the group search): a member of
// the pushers group pushes, a user outside it only pulls.
func TestDockerLDAPGroups(t *testing.T) {
	harness.SkipIfShort(t)
	rootfs := busyboxRootfs(t)
	slapd := testserver.StartSlapd(t)
	people, groups := seedLDAP(t, slapd)
	body := "auth: token\n" + ldapAuthYAML(slapd, people, groups) + `acl:
  - match: {account: "/.+/", labels: {groups: pushers}}
    actions: ["*"]
    comment: the pushers group may do anything
  - match: {account: "/.+/"}
    actions: [pull]
`
	cfg := writeConfig(t, t.TempDir(), body)
	dockerWithBackend(t, cfg, rootfs, backendUsers{backend: "LDAP", pusher: "dana", pusherPassword: danaPassword,
		puller: "erin", pullerPassword: erinPassword, pullerDenied: "outside the pushers group"})
}

// TestDockerLDAPDatabaseRules: LDAP users whose rights come from ACL rules
// in wharf's database, added with the wharf CLI while `wharf serve` runs —
// one rule for the LDAP group (the groups label), one for an account.
func TestDockerLDAPDatabaseRules(t *testing.T) {
	harness.SkipIfShort(t)
	rootfs := busyboxRootfs(t)
	slapd := testserver.StartSlapd(t)
	people, groups := seedLDAP(t, slapd)
	body := "auth: token\n" + ldapAuthYAML(slapd, people, groups)
	cfg := writeConfig(t, t.TempDir(), body)
	dockerWithBackend(t, cfg, rootfs, backendUsers{backend: "LDAP", pusher: "dana", pusherPassword: danaPassword,
		puller: "erin", pullerPassword: erinPassword, pullerDenied: "allowed to pull only by the database's rules",
		started: func(w *harness.Wharf) {
			cli := wharfCLI{t: t, bin: harness.WharfBinary(t), data: w.DataDir()}
			cli.run("", "acl", "add", "--label", "groups=pushers", "--name", "team/*", "--actions", "pull,push", "--comment", "the LDAP pushers group")
			cli.run("", "acl", "add", "--account", "erin", "--name", "team/*", "--actions", "pull", "--comment", "erin reads")
		}})
}

// TestWharfAuthLDAP runs `wharf auth` with a docker_auth configuration
// using ldap_auth as docker_auth documents it (no users map, StartTLS, a
// label from an attribute) and asks its token endpoint for tokens.
func TestWharfAuthLDAP(t *testing.T) {
	harness.SkipIfShort(t)
	slapd := testserver.StartSlapd(t)
	people, _ := seedLDAP(t, slapd)
	_, _, keyPath, certPath := signingPair(t, token.KeyECDSAP256, "auth-server")
	authCfg := filepath.Join(t.TempDir(), "auth_config.yml")
	dockerAuth := fmt.Sprintf(`server:
  addr: ":5001"
token:
  issuer: "Auth Service"
  expiration: 900
  certificate: %q
  key: %q
ldap_auth:
  addr: %s
  tls: starttls
  insecure_tls_skip_verify: false
  ca_certificate: %s
  bind_dn: %s
  bind_password_file: %s
  base: %s
  filter: (&(uid=${account})(objectClass=person))
  labels:
    department:
      attribute: departmentNumber
      lower_case: true
acl:
  - match: {account: "/.+/", labels: {department: platform}}
    actions: ["*"]
  - match: {account: "/.+/"}
    actions: ["pull"]
`, certPath, keyPath, slapd.Addr, slapd.CAFile, slapd.ReaderDN, slapd.ReaderPasswordFile, people)
	if err := os.WriteFile(authCfg, []byte(dockerAuth), 0o600); err != nil {
		t.Fatal(err)
	}
	auth := harness.StartWharfCommand(t, nil, "auth", "--config", authCfg, "--addr", "127.0.0.1:0", "--data", t.TempDir())
	t.Cleanup(httpClient.CloseIdleConnections)

	tokenFor := func(user, password string) (int, []string) {
		t.Helper()
		return tokenActions(t, auth.URL(), user, password, "team/app")
	}
	if status, actions := tokenFor("dana", danaPassword); status != http.StatusOK || !slices.Equal(actions, []string{"pull", "push"}) {
		t.Errorf("dana (department Platform): %d %v; want a token for pull and push", status, actions)
	}
	if status, actions := tokenFor("erin", erinPassword); status != http.StatusOK || !slices.Equal(actions, []string{"pull"}) {
		t.Errorf("erin: %d %v; want a token for pull only", status, actions)
	}
	for _, c := range [][2]string{{"dana", "wrong"}, {"dana", ""}, {"Dana", danaPassword}, {"*", danaPassword}, {"nobody", "x"}} {
		if status, _ := tokenFor(c[0], c[1]); status != http.StatusUnauthorized {
			t.Errorf("user %q with a bad password or name: status %d; want 401", c[0], status)
		}
	}
}

// grantedActions reads the actions a token grants on repo (sorted).
func grantedActions(t *testing.T, jwt, repo string) []string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Access []struct {
			Type, Name string
			Actions    []string
		} `json:"access"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range claims.Access {
		if a.Type == "repository" && a.Name == repo {
			actions = append(actions, a.Actions...)
		}
	}
	slices.Sort(actions)
	return actions
}
