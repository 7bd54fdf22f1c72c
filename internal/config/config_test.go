package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/auth"
	"wharf/internal/auth/authn/static"
	"wharf/internal/auth/authz"
)

// bobHash is a bcrypt hash (cost 5) for the tests' users.
const bobHash = "$2y$05$WuwBasGDAgr.QCbGIjKJaep4dhxeai9gNZdmBnQXqpKly57oNutya"

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "wharf.yml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		want    func(*Config)
		wantErr []string // substrings that must all appear
	}{
		{name: "empty file keeps defaults", body: "", want: func(*Config) {}},
		{name: "values", body: "addr: 127.0.0.1:6000\ndata: /srv/wharf\ntls: off\nlog:\n  level: debug\n  format: json\nuploads:\n  max_age: 1h\n",
			want: func(c *Config) {
				c.Addr, c.Data, c.Log.Level, c.Log.Format, c.Uploads.MaxAge = "127.0.0.1:6000", "/srv/wharf", "debug", "json", Duration(time.Hour)
				c.GC.UploadsGrace = Duration(time.Hour) // uploads.max_age is its old name
				c.TLS = "off"
			}},
		{name: "unknown key names its line", body: "addr: :5000\nadress: :6000\n", wantErr: []string{"line 2", "adress"}},
		{name: "unknown nested key", body: "log:\n  levle: debug\n", wantErr: []string{"line 2", "levle"}},
		{name: "wrong type", body: "log: verbose\n", wantErr: []string{"line 1"}},
		{name: "unknown key with a hint", body: "adr: :6000\n", wantErr: []string{`line 1: unknown key "adr" (did you mean addr?)`}},
		{name: "unknown nested key with a hint", body: "log:\n  levle: debug\n",
			wantErr: []string{`line 2: unknown key "levle" in log (did you mean level?); valid keys: level, format`}},
		{name: "unknown key of an inline section", body: "github_auth:\n  client_ide: x\n",
			wantErr: []string{`line 2: unknown key "client_ide" in github_auth (did you mean client_id?)`}},
		{name: "every problem of the file", body: "adr: x\ntoken:\n  expiration: soon\nacl:\n  - match: {acount: a}\n    actions: [pull]\nusers:\n  bob: {pasword: x}\n",
			wantErr: []string{"line 1: unknown key", `line 3: "soon" is not a duration`, `line 5: acl: unknown key "acount" in match (did you mean "account"?)`,
				`line 8: users: unknown key "pasword" in user "bob" (did you mean "password"?)`}},
		{name: "users and acl parsed", body: "users:\n  bob:\n    password: \"" + bobHash + "\"\n    labels: {group: [dev]}\n  \"\": {}\nacl:\n  - match: {account: bob}\n    actions: [pull]\n",
			want: func(c *Config) {
				c.Users = static.Users{"bob": {Password: bobHash, Labels: auth.Labels{"group": {"dev"}}}, "": {}}
				c.ACL = ACL{Given: true, Rules: []authz.Rule{{Match: authz.Match{Account: new("bob")}, Actions: []string{"pull"}, Line: 7}}}
			}},
		{name: "an empty acl is given", body: "acl: []\n", want: func(c *Config) { c.ACL = ACL{Given: true, Rules: []authz.Rule{}} }},
		{name: "a null acl is not", body: "acl:\nusers: ~\n", want: func(*Config) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Load(write(t, tc.body))
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("Load succeeded, want error containing %q", tc.wantErr)
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := Default()
			tc.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Load mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "nope.yml"))
	if err == nil || !strings.Contains(err.Error(), "nope.yml") {
		t.Fatalf("Load of a missing file: %v", err)
	}
}

func TestValidateReportsEverything(t *testing.T) {
	t.Parallel()
	c := Config{Auth: "magic", TLS: "magic", TrustedProxies: []string{"10.0.0.0/33"}, Log: Log{Level: "loud", Format: "xml"}}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted an invalid config")
	}
	for _, key := range []string{"addr:", "data:", "auth:", "tls:", "trusted_proxies[0]:", "log.level:", "log.format:"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("Validate error does not name %s:\n%v", key, err)
		}
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

// TestValidateListenAddresses: a listen address the server could not
// listen on is refused by validation, before anything is created.
func TestValidateListenAddresses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		key, addr, want string // want "" for valid
	}{
		{"addr", ":5000", ""},
		{"addr", "127.0.0.1:0", ""},
		{"addr", "[::1]:5000", ""},
		{"addr", "5000", `addr: "5000" is not host:port`},
		{"addr", "::1:5000", `addr: "::1:5000" is not host:port`},
		{"token_addr", "localhost:https", `token_addr: "localhost:https": the port "https" is not a number`},
		{"debug_addr", "127.0.0.1:70000", `debug_addr: "127.0.0.1:70000": the port "70000"`},
		{"token_addr", "", ""},
	} {
		t.Run(tc.key+" "+tc.addr, func(t *testing.T) {
			t.Parallel()
			c := Default()
			switch tc.key {
			case "addr":
				c.Addr = tc.addr
			case "token_addr":
				c.TokenAddr = tc.addr
			case "debug_addr":
				c.DebugAddr = tc.addr
			}
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestValidateCompilesTheACL: a rule that parses but cannot compile (a bad
// pattern, a mistyped placeholder, an address that is none) is a
// validation error naming the rule and its line, so that it stops a
// command before anything starts.
func TestValidateCompilesTheACL(t *testing.T) {
	t.Parallel()
	c, err := Load(write(t, "acl:\n  - match: {name: \"${acount}/*\"}\n    actions: [pull]\n  - match: {ip: 10.0.0.0/33}\n    actions: [pull]\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	for _, want := range []string{"acl: rule #0 (line 2): match.name: unknown placeholder ${acount} (did you mean ${account}?)", "acl: rule #1 (line 4): match.ip"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v; want %q", err, want)
		}
	}
}

// TestValidateRefusesUnknownActions: a rule of wharf.yml granting an
// action the registry never asks for ("pul") grants nothing; it is an
// error with the action it probably meant. A token server alone keeps
// docker_auth's freedom (its tokens may be for other services).
func TestValidateRefusesUnknownActions(t *testing.T) {
	t.Parallel()
	c, err := Load(write(t, "acl:\n  - match: {account: a}\n    actions: [pull]\n  - match: {account: b}\n    actions: [pul, push]\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := `acl: rule #1 (line 4): actions: unknown action "pul" (did you mean pull?); the registry asks for pull, push, delete, *`
	for _, role := range []string{RoleAllInOne, RoleRegistry} {
		c.Role = role
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("role %s: Validate = %v; want %q", role, err, want)
		}
	}
	c.Role = RoleAuth
	if err := c.Validate(); err != nil {
		t.Errorf("role auth: Validate = %v; want nil", err)
	}
}

// TestLogAccess: log.access takes on and off (and YAML's true and false,
// unquoted), and refuses anything else.
func TestLogAccess(t *testing.T) {
	t.Parallel()
	for body, on := range map[string]bool{"": true, "log: {access: off}\n": false, "log: {access: on}\n": true,
		"log: {access: false}\n": false, "log: {access: true}\n": true, "log: {access: \"off\"}\n": false} {
		c, err := Load(write(t, body))
		if err == nil {
			err = c.Validate()
		}
		if err != nil || c.Log.AccessOn() != on {
			t.Errorf("%q: AccessOn = %v, %v; want %v", body, c.Log.AccessOn(), err, on)
		}
	}
	c := Default()
	c.Log.Access = "no"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `log.access: "no" is not one of on, off`) {
		t.Errorf("log.access no: Validate = %v", err)
	}
}

// TestFileLine: Line finds where a dotted key is set, and nothing for a
// key the file leaves out or sets to null.
func TestFileLine(t *testing.T) {
	t.Parallel()
	f, err := ReadFile(write(t, "# wharf\naddr: :1\nlog:\n  format: json\n  level: debug\ndata:\n"))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int{"addr": 2, "log.level": 5, "log": 3, "data": 0, "tls": 0, "addr.x": 0} {
		if got := f.Line(key); got != want {
			t.Errorf("Line(%q) = %d, want %d", key, got, want)
		}
	}
}
