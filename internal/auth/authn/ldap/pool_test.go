package ldap_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/ldap"
	"wharf/internal/testserver"
)

// accepts counts the connections slapd has accepted, from its log.
func accepts(t *testing.T, d *directory) int {
	t.Helper()
	b, err := os.ReadFile(d.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), " ACCEPT from ")
}

// Connections are reused: many logins, in turn and at once, open no more
// connections than the pool holds.
func TestPoolReusesConnections(t *testing.T) {
	d := startDirectory(t)
	tr := d.seed(t, []user{alice, mallet})
	cfg := d.config(t, tr)
	cfg.PoolSize = 2
	a := newAuthenticator(t, cfg)
	before := accepts(t, d)
	ctx := context.Background()
	for range 10 {
		if res, _, err := a.Authenticate(ctx, "alice", auth.Secret(alice.password)); res != authn.Accepted || err != nil {
			t.Fatalf("%v, %v", res, err)
		}
		if res, _, err := a.Authenticate(ctx, "alice", "wrong"); res != authn.WrongPassword || err != nil {
			t.Fatalf("wrong password: %v, %v", res, err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			u := []user{alice, mallet}[i%2]
			if res, _, err := a.Authenticate(ctx, u.name, auth.Secret(u.password)); res != authn.Accepted || err != nil {
				errs <- errors.Join(err, errors.New(u.name+": "+res.String()))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := accepts(t, d) - before; n < 1 || n > cfg.PoolSize {
		t.Errorf("%d connections opened for 36 logins; want 1 to %d", n, cfg.PoolSize)
	}
}

// A directory that goes away fails logins with an error — which the chain
// logs and turns into a denial — and logins work again when it is back:
// the pool drops the dead connections and dials new ones.
func TestDirectoryDown(t *testing.T) {
	d := startDirectory(t)
	tr := d.seed(t, []user{alice})
	a := newAuthenticator(t, d.config(t, tr))
	var logs bytes.Buffer
	chain := authn.NewChain(slog.New(slog.NewTextHandler(&logs, nil)), a)
	ctx := context.Background()
	login := func() (authn.Result, error) {
		res, _, err := chain.Authenticate(ctx, "alice", auth.Secret(alice.password))
		return res, err
	}
	if res, err := login(); res != authn.Accepted || err != nil {
		t.Fatalf("before: %v, %v", res, err)
	}

	d.Stop(t)
	for range 3 {
		res, err := login()
		if res == authn.Accepted || err == nil {
			t.Fatalf("directory down: %v, %v; want an error and a denial", res, err)
		}
	}
	if !strings.Contains(logs.String(), "backend=ldap") || !strings.Contains(logs.String(), "denying") {
		t.Errorf("no log line about the failing directory:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), alice.password) {
		t.Errorf("the password reached the log:\n%s", logs.String())
	}

	d.Start(t)
	if res, err := login(); res != authn.Accepted || err != nil {
		t.Fatalf("after the directory came back: %v, %v", res, err)
	}
	// Twice: the second login runs on a pooled connection of the new server.
	if res, err := login(); res != authn.Accepted || err != nil {
		t.Fatalf("second login after the restart: %v, %v", res, err)
	}
}

// Pooled connections the server closed while they were idle are replaced
// without failing a login.
func TestStaleConnectionsRetried(t *testing.T) {
	d := startDirectory(t)
	tr := d.seed(t, []user{alice})
	cfg := d.config(t, tr)
	cfg.PoolSize = 1
	a := newAuthenticator(t, cfg)
	ctx := context.Background()
	if res, _, err := a.Authenticate(ctx, "alice", auth.Secret(alice.password)); res != authn.Accepted || err != nil {
		t.Fatalf("%v, %v", res, err)
	}
	d.Stop(t)
	d.Start(t)
	for range 3 {
		if res, _, err := a.Authenticate(ctx, "alice", auth.Secret(alice.password)); res != authn.Accepted || err != nil {
			t.Fatalf("after a restart, with a stale pooled connection: %v, %v", res, err)
		}
	}
}

// Misconfigurations and directory-side problems are errors that name the
// problem, never a login, and never carry a password.
func TestDirectoryErrors(t *testing.T) {
	d := startDirectory(t)
	tr := d.seed(t, []user{alice, mallet})
	d.Add(t, testserver.Entry{DN: "uid=twin," + tr.people, Attrs: []testserver.Attr{
		{"objectClass", "inetOrgPerson"}, {"uid", "twin"}, {"cn", "twin"}, {"sn", "twin"}, {"mail", "shared@example.org"}}},
		testserver.Entry{DN: "uid=twin2," + tr.people, Attrs: []testserver.Attr{
			{"objectClass", "inetOrgPerson"}, {"uid", "twin2"}, {"cn", "twin2"}, {"sn", "twin2"}, {"mail", "shared@example.org"}}})
	tests := []struct {
		name    string
		change  func(*ldap.Config)
		user    string
		wantErr string
	}{
		{"wrong service password", func(c *ldap.Config) { c.BindPassword = "not-the-reader-pw" }, "alice", "check bind_dn and bind_password_file"},
		{"two entries", func(c *ldap.Config) { c.Filter = "(mail=${account})" }, "shared@example.org", "must find one"},
		{"missing base", func(c *ldap.Config) { c.Base = "ou=nowhere," + testserver.SlapdSuffix }, "alice", "does not exist"},
		{"nothing listening", func(c *ldap.Config) { c.Addr = "127.0.0.1:1" }, "alice", "connecting to 127.0.0.1:1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := d.config(t, tr)
			tc.change(&cfg)
			a := newAuthenticator(t, cfg)
			res, labels, err := a.Authenticate(context.Background(), tc.user, auth.Secret(alice.password))
			if res == authn.Accepted || labels != nil || err == nil {
				t.Fatalf("%v, %v, %v; want an error", res, labels, err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not say %q", err, tc.wantErr)
			}
			for _, secret := range []string{alice.password, "not-the-reader-pw", readFile(t, d.ReaderPasswordFile)} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains a password", err)
				}
			}
		})
	}
}

// A cancelled request stops waiting and is never an admission.
func TestCanceled(t *testing.T) {
	d := startDirectory(t)
	tr := d.seed(t, []user{alice})
	a := newAuthenticator(t, d.config(t, tr))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res, _, err := a.Authenticate(ctx, "alice", auth.Secret(alice.password)); res == authn.Accepted || !errors.Is(err, context.Canceled) {
		t.Errorf("%v, %v; want context.Canceled", res, err)
	}
	if res, _, err := a.Authenticate(context.Background(), "alice", auth.Secret(alice.password)); res != authn.Accepted || err != nil {
		t.Errorf("after a cancelled login: %v, %v", res, err)
	}
	_ = a.Close()
	if res, _, err := a.Authenticate(context.Background(), "alice", auth.Secret(alice.password)); res == authn.Accepted || err == nil {
		t.Errorf("after Close: %v, %v; want an error", res, err)
	}
}

// A directory that accepts connections and then says nothing fails the
// login once the timeout passes, in every TLS mode; it never hangs it.
func TestHungDirectory(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	for _, mode := range []string{ldap.TLSNone, ldap.TLSAlways, ldap.TLSStartTLS} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			a := newAuthenticator(t, ldap.Config{Addr: ln.Addr().String(), TLS: mode, Base: "dc=x", Filter: "(uid=${account})",
				PoolSize: 1, Timeout: 500 * time.Millisecond})
			res, _, err := a.Authenticate(context.Background(), "alice", "pw")
			if res == authn.Accepted || err == nil {
				t.Fatalf("%v, %v; want an error", res, err)
			}
		})
	}
}
