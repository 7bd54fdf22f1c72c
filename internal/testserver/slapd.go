package testserver

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"wharf/internal/auth/token"
	"wharf/internal/certs"
)

// SlapdSuffix is the naming context of every directory StartSlapd makes.
const SlapdSuffix = "dc=example,dc=org"

// Slapd is a running OpenLDAP server with its own configuration and an
// empty mdb database under SlapdSuffix holding only the suffix entry and
// a read-only service account.
type Slapd struct {
	// Addr is host:port of plain LDAP (StartTLS offered); TLSAddr of LDAP
	// over TLS (ldaps).
	Addr, TLSAddr string
	// AdminDN is the database's root DN; AdminPasswordFile holds its
	// password (no newline).
	AdminDN, AdminPasswordFile string
	// ReaderDN is a service account that may read everything but
	// passwords; ReaderPasswordFile holds its password.
	ReaderDN, ReaderPasswordFile string
	// CAFile is the PEM certificate of the CA that signed the server's
	// certificate (valid for 127.0.0.1 and localhost).
	CAFile string
	// Dir holds the configuration, database, certificates and log.
	Dir string

	bin  string
	proc *Process
}

// StartSlapd starts a fresh slapd: a cn=config made with slapadd -n0
// (schemas core, cosine, nis and inetorgperson; an mdb database in a
// temporary directory), listening on ldap:// and ldaps:// at free
// loopback ports with a certificate from a CA generated for the test. It
// logs to slapd.log in its directory and is stopped when the test ends.
func StartSlapd(t testing.TB) *Slapd {
	t.Helper()
	SkipIfShort(t)
	bin := FindBinary(t, "slapd (Debian package slapd)", "slapd", "/usr/sbin/slapd")
	slapadd := FindBinary(t, "slapadd (Debian package slapd)", "slapadd", "/usr/sbin/slapadd")
	FindBinary(t, "ldapadd (Debian package ldap-utils)", "ldapadd", "/usr/bin/ldapadd")
	schemaDir := "/etc/ldap/schema"
	for _, s := range []string{"core", "cosine", "nis", "inetorgperson"} {
		if _, err := os.Stat(filepath.Join(schemaDir, s+".ldif")); err != nil {
			t.Fatalf("slapd schema %s: %v: %s", s, err, installHint)
		}
	}
	dir := t.TempDir()
	s := &Slapd{
		Addr:               fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
		TLSAddr:            fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
		AdminDN:            "cn=admin," + SlapdSuffix,
		AdminPasswordFile:  filepath.Join(dir, "admin.pw"),
		ReaderDN:           "cn=reader," + SlapdSuffix,
		ReaderPasswordFile: filepath.Join(dir, "reader.pw"),
		CAFile:             filepath.Join(dir, "ca.crt"),
		Dir:                dir,
		bin:                bin,
	}
	adminPW, readerPW := randomPassword(), randomPassword()
	writeFile(t, s.AdminPasswordFile, adminPW, 0o600)
	writeFile(t, s.ReaderPasswordFile, readerPW, 0o600)
	s.makeCertificates(t)
	for _, d := range []string{"slapd.d", "db"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "config.ldif"), s.configLDIF(schemaDir, adminPW), 0o600)
	runTimeout(t, 30*time.Second, slapadd, "-n0", "-F", filepath.Join(dir, "slapd.d"), "-l", filepath.Join(dir, "config.ldif"))
	seed := LDIF(
		Entry{DN: SlapdSuffix, Attrs: []Attr{{"objectClass", "dcObject"}, {"objectClass", "organization"}, {"dc", "example"}, {"o", "Example"}}},
		Entry{DN: s.ReaderDN, Attrs: []Attr{{"objectClass", "organizationalRole"}, {"objectClass", "simpleSecurityObject"},
			{"cn", "reader"}, {"userPassword", SSHA(readerPW)}}},
	)
	writeFile(t, filepath.Join(dir, "seed.ldif"), seed, 0o600)
	runTimeout(t, 30*time.Second, slapadd, "-n1", "-F", filepath.Join(dir, "slapd.d"), "-l", filepath.Join(dir, "seed.ldif"))
	s.Start(t)
	return s
}

// makeCertificates writes ca.crt, server.crt and server.key.
func (s *Slapd) makeCertificates(t testing.TB) {
	t.Helper()
	names := []string{"127.0.0.1", "localhost"}
	ca, err := certs.NewCA("wharf test LDAP CA", names, token.KeyECDSAP256, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := ca.IssueServer(names, token.KeyECDSAP256, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, s.CAFile, string(ca.CertPEM()), 0o644)
	writeFile(t, filepath.Join(s.Dir, "server.crt"), string(cert), 0o644)
	writeFile(t, filepath.Join(s.Dir, "server.key"), string(key), 0o600)
}

// configLDIF is the cn=config of the server: global settings with TLS,
// the schemas, and one mdb database. Passwords are readable by nobody;
// anonymous clients may bind (auth) and read the rest, as a typical
// directory allows.
func (s *Slapd) configLDIF(schemaDir, adminPW string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: %[1]s/slapd.pid
olcArgsFile: %[1]s/slapd.args
olcTLSCACertificateFile: %[1]s/ca.crt
olcTLSCertificateFile: %[1]s/server.crt
olcTLSCertificateKeyFile: %[1]s/server.key

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

`, s.Dir)
	for _, schema := range []string{"core", "cosine", "nis", "inetorgperson"} {
		fmt.Fprintf(&b, "include: file://%s/%s.ldif\n\n", schemaDir, schema)
	}
	fmt.Fprintf(&b, `dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 500

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: %[2]s
olcRootDN: %[3]s
olcRootPW: %[4]s
olcDbDirectory: %[1]s/db
olcDbIndex: objectClass eq
olcDbIndex: uid,cn,member,memberUid eq
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by * read
`, s.Dir, SlapdSuffix, s.AdminDN, SSHA(adminPW))
	return b.String()
}

// Start starts (or restarts after Stop) the server on its ports, with
// the data it holds, and waits until both listeners accept connections.
func (s *Slapd) Start(t testing.TB) {
	t.Helper()
	if s.proc != nil && !s.proc.Exited() {
		t.Fatal("slapd is already running")
	}
	// -d 256 logs connections and operations (stats) and keeps slapd in
	// the foreground, attached to the test. Without -u it runs as the
	// user running the test.
	cmd := exec.Command(s.bin,
		"-h", fmt.Sprintf("ldap://%s/ ldaps://%s/", s.Addr, s.TLSAddr),
		"-F", filepath.Join(s.Dir, "slapd.d"),
		"-d", "256")
	s.proc = Start(t, "slapd", filepath.Join(s.Dir, "slapd.log"), cmd)
	s.proc.WaitTCP(t, s.Addr, 30*time.Second)
	s.proc.WaitTCP(t, s.TLSAddr, 30*time.Second)
}

// Stop stops the server; Start brings it back with the same data.
func (s *Slapd) Stop(t testing.TB) {
	t.Helper()
	if s.proc != nil {
		s.proc.Stop(t)
	}
}

// LogPath is the server's log file.
func (s *Slapd) LogPath() string { return filepath.Join(s.Dir, "slapd.log") }

// Add adds entries with ldapadd, bound as the root DN.
func (s *Slapd) Add(t testing.TB, entries ...Entry) {
	t.Helper()
	cmd := exec.Command("ldapadd", "-x", "-H", "ldap://"+s.Addr, "-D", s.AdminDN, "-y", s.AdminPasswordFile)
	cmd.Stdin = strings.NewReader(LDIF(entries...))
	runCmdTimeout(t, 30*time.Second, cmd)
}

// Delete removes entries with ldapdelete, bound as the root DN.
func (s *Slapd) Delete(t testing.TB, dns ...string) {
	t.Helper()
	cmd := exec.Command("ldapdelete", append([]string{"-x", "-H", "ldap://" + s.Addr, "-D", s.AdminDN, "-y", s.AdminPasswordFile}, dns...)...)
	runCmdTimeout(t, 30*time.Second, cmd)
}

// Modify applies an LDIF of changes (changetype: modify, …) with
// ldapmodify, bound as the root DN.
func (s *Slapd) Modify(t testing.TB, ldif string) {
	t.Helper()
	cmd := exec.Command("ldapmodify", "-x", "-H", "ldap://"+s.Addr, "-D", s.AdminDN, "-y", s.AdminPasswordFile)
	cmd.Stdin = strings.NewReader(ldif)
	runCmdTimeout(t, 30*time.Second, cmd)
}

// Attr is one attribute value of an Entry: name and value.
type Attr [2]string

// Entry is a directory entry to add.
type Entry struct {
	DN    string
	Attrs []Attr
}

// LDIF renders entries as LDIF, base64-encoding every DN and value that
// LDIF does not allow as plain text (non-ASCII, leading space or colon,
// control characters).
func LDIF(entries ...Entry) string {
	var b strings.Builder
	for _, e := range entries {
		writeLDIFLine(&b, "dn", e.DN)
		for _, a := range e.Attrs {
			writeLDIFLine(&b, a[0], a[1])
		}
		b.WriteString("\n")
	}
	return b.String()
}

func writeLDIFLine(b *strings.Builder, name, value string) {
	if ldifSafe(value) {
		fmt.Fprintf(b, "%s: %s\n", name, value)
		return
	}
	fmt.Fprintf(b, "%s:: %s\n", name, base64.StdEncoding.EncodeToString([]byte(value)))
}

// ldifSafe is RFC 2849's SAFE-STRING, without a trailing space.
func ldifSafe(v string) bool {
	if v == "" {
		return true
	}
	if !utf8.ValidString(v) || v[0] == ' ' || v[0] == ':' || v[0] == '<' || v[len(v)-1] == ' ' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == 0 || c == '\n' || c == '\r' || c > 0x7f {
			return false
		}
	}
	return true
}

// SSHA is password hashed the way slapd's {SSHA} scheme stores it.
func SSHA(password string) string {
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	h := sha1.New() // slapd's {SSHA} scheme; test data only
	h.Write([]byte(password))
	h.Write(salt)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...))
}

func writeFile(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func runTimeout(t testing.TB, d time.Duration, name string, args ...string) string {
	t.Helper()
	return runCmdTimeout(t, d, exec.Command(name, args...))
}

// runCmdTimeout runs cmd to completion within d, failing t with its output
// when it fails or takes longer.
func runCmdTimeout(t testing.TB, d time.Duration, cmd *exec.Cmd) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	c := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	c.Stdin, c.Env, c.Dir = cmd.Stdin, cmd.Env, cmd.Dir
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v (timeout %v)\n%s", strings.Join(c.Args, " "), err, d, out)
	}
	return string(out)
}
