package config

import (
	"errors"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// secretKeys are the keys whose values are secrets: password hashes,
// connection strings, client secrets.
var secretKeys = map[string]bool{"password": true, "dsn": true, "conn_string": true, "client_secret": true, "secret_header": true}

// FuzzLoad decodes and validates arbitrary wharf.yml files: it must never
// panic, and no error may quote the value of a secret key (a password
// hash, a DSN, a client secret), which an operator pastes into issues and
// CI logs keep.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		"",
		"addr: :5000\ndata: /srv\nusers:\n  bob:\n    password: \"$2y$05$WuwBasGDAgr.QCbGIjKJaep4dhxeai9gNZdmBnQXqpKly57oNutya\"\n  \"\": {}\nacl:\n  - match: {account: bob, name: \"bob/*\"}\n    actions: [pull, push]\n",
		"users:\n  bob:\n    password: \"$2y$99$WuwBasGDAgr.QCbGIjKJaep4dhxeai9gNZdmBnQXqpKly57oNutya\"\n",
		"users:\n  bob:\n    password: \"$2y$05$short-and-malformed-hash-value\"\n  eve: {password: \"$apr1$hunter2hunter2$abcdefghijk\"}\n",
		"database:\n  driver: postgres\n  dsn: \" postgres://wharf:hunter2hunter2@db/wharf\"\n",
		"database:\n  driver: sqlite\n  dsn: \"file:/srv/wharf.db?_pragma=key(hunter2hunter2)\"\n",
		"database:\n  driver: postgres\n  dsn: postgres://wharf:hunter2hunter2@db/wharf\n  dsn_file: /run/secrets/dsn\n",
		"xorm_auth:\n  database_type: postgres\n  conn_string: \"postgres://u:hunter2hunter2@db/auth\"\n  conn_string_file: /f\n",
		"mongo_auth:\n  dial_info: {addrs: [db], password: hunter2hunter2hunter2}\n  collection: users\n",
		"oidc_auth:\n  issuer: https://idp\n  client_id: wharf\n  client_secret: hunter2hunter2hunter2\n",
		"webhook_auth:\n  url: http://127.0.0.1/\n  secret_header: \"Authorization: Bearer hunter2hunter2\"\n",
		"acl:\n  - match: {account: \"/[/\", name: \"${acount}\"}\n    actions: [pull]\n  - {match: {ip: 10.0.0.0/33}, actions: x}\n",
		"users: &u {a: *u}\nacl: &a [*a]\n",
		"token: {expiration: soon}\nlog: {levle: x}\nAddr: y\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c := Default()
		err := errors.Join(append(decode(b, &c), c.Validate())...)
		if err == nil {
			return
		}
		msg := err.Error()
		for _, secret := range secretValues(b) {
			if strings.Contains(msg, secret) && !strings.Contains(without(b, secret), secret) {
				t.Fatalf("an error quotes the secret %q:\n%s", secret, msg)
			}
		}
	})
}

// secretValues returns the values of secret keys in the document that are
// long enough not to be found in a message by chance.
func secretValues(b []byte) []string {
	var doc yaml.Node
	if yaml.Unmarshal(b, &doc) != nil {
		return nil
	}
	var out []string
	seen := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if v := n.Content[i+1]; secretKeys[n.Content[i].Value] && v.Kind == yaml.ScalarNode && len(v.Value) >= 12 {
					out = append(out, v.Value)
				}
			}
		}
		for _, child := range n.Content {
			walk(child)
		}
		walk(n.Alias)
	}
	walk(&doc)
	return out
}

// without returns the error messages of the document with secret replaced
// by a value of the same length: a message that still holds secret took it
// from somewhere else (a key, a fixed text), not from the secret.
func without(b []byte, secret string) string {
	other := strings.Repeat("Z", len(secret))
	c := Default()
	if err := errors.Join(append(decode([]byte(strings.ReplaceAll(string(b), secret, other)), &c), c.Validate())...); err != nil {
		return err.Error()
	}
	return ""
}
