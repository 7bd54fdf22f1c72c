package resolve

import (
	"fmt"
	"os"

	"wharf/internal/config"
)

// sectionFile is a file a backend section names: a secret the server
// reads at start, or a CA bundle.
type sectionFile struct {
	key, path string
	pem       bool // a CA bundle: it must hold a certificate
}

// sectionFiles are the files the configured backends read at start: the
// server would refuse to start on a missing one, after creating its data
// directory.
func sectionFiles(c config.Config) []sectionFile {
	var files []sectionFile
	add := func(key, path string, pem bool) {
		if path != "" {
			files = append(files, sectionFile{key, path, pem})
		}
	}
	if l := c.LDAP; l != nil {
		add("ldap_auth.ca_certificate", l.CACertificate, true)
		add("ldap_auth.bind_password_file", l.BindPasswordFile, false)
	}
	for _, w := range []struct {
		name string
		hook *config.Webhook
	}{{"webhook_auth", c.WebhookAuth}, {"webhook_authz", c.WebhookAuthz}} {
		if w.hook != nil {
			add(w.name+".ca_certificate", w.hook.CACertificate, true)
			add(w.name+".secret_file", w.hook.SecretFile, false)
		}
	}
	mongo := func(name string, d config.MongoDial) {
		add(name+".dial_info.ca_certificate", d.CACertificate, true)
		add(name+".dial_info.password_file", d.PasswordFile, false)
	}
	if m := c.MongoAuth; m != nil {
		mongo("mongo_auth", m.DialInfo)
	}
	if m := c.ACLMongo; m != nil {
		mongo("acl_mongo", m.DialInfo)
	}
	if x := c.XormAuth; x != nil {
		add("xorm_auth.conn_string_file", x.ConnStringFile, false)
	}
	if x := c.ACLXorm; x != nil {
		add("acl_xorm.conn_string_file", x.ConnStringFile, false)
	}
	if o := c.OIDCAuth; o != nil {
		add("oidc_auth.client_secret_file", o.ClientSecretFile, false)
	}
	if o := c.GitHubAuth; o != nil {
		add("github_auth.client_secret_file", o.ClientSecretFile, false)
	}
	if o := c.GitLabAuth; o != nil {
		add("gitlab_auth.client_secret_file", o.ClientSecretFile, false)
	}
	if o := c.GoogleAuth; o != nil {
		add("google_auth.client_secret_file", o.ClientSecretFile, false)
	}
	for i, u := range c.Proxy.Upstreams {
		add(fmt.Sprintf("proxy.upstreams[%d].ca_file", i), u.CAFile, true)
		add(fmt.Sprintf("proxy.upstreams[%d].password_file", i), u.PasswordFile, false)
	}
	return files
}

// checkSectionFiles reads every file the backends would read. Errors name
// the key and the file, never what a secret file holds.
func checkSectionFiles(c config.Config) []error {
	var errs []error
	for _, f := range sectionFiles(c) {
		var err error
		if f.pem {
			err = pemCertificates(f.key, f.path)
		} else if _, rerr := os.ReadFile(f.path); rerr != nil {
			err = fmt.Errorf("%s: %w", f.key, rerr)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
