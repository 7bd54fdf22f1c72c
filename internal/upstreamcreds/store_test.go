package upstreamcreds_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wharf/internal/auth"
	"wharf/internal/metadata"
	"wharf/internal/upstreamcreds"
)

const secret = "s3cret-Pa55word-never-shown"

func openMeta(t *testing.T) *metadata.Store {
	t.Helper()
	meta, err := metadata.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "wharf.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	return meta
}

// TestSetGetListRemove: a credential goes in sealed, comes out whole,
// lists without its password, and goes; the database holds no clear text.
func TestSetGetListRemove(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	meta := openMeta(t)
	keyPath := filepath.Join(t.TempDir(), "auth", "upstream-credentials.key")
	s := upstreamcreds.New(meta, upstreamcreds.Options{KeyPath: keyPath, CreateKey: true})
	info, err := s.Set(ctx, "hub", "acme", secret)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v; want 0600", err, fi)
	}
	got, err := s.Get(ctx, "hub")
	if err != nil || got.Username != "acme" || got.Password.Reveal() != secret {
		t.Fatalf("Get = %q, %v", got.Username, err)
	}
	rows, err := meta.UpstreamCredentials(ctx)
	if err != nil || len(rows) != 1 {
		t.Fatalf("rows = %v, %v", rows, err)
	}
	if strings.Contains(string(rows[0].Sealed), secret) {
		t.Error("the database holds the password in clear")
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 || list[0].Upstream != "hub" || list[0].Username != "acme" || list[0].KeyID != info.KeyID {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if strings.Contains(fmt.Sprintf("%+v %#v", list, got), secret) {
		t.Error("a listing or a formatted credential shows the password")
	}
	// Replacing keeps one row and takes effect for the next Get.
	if _, err := s.Set(ctx, "hub", "acme2", "other"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "hub"); err != nil || got.Username != "acme2" || got.Password.Reveal() != "other" {
		t.Fatalf("Get after a second Set = %q, %v", got.Username, err)
	}
	if err := s.Remove(ctx, "hub"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "hub"); !errors.Is(err, upstreamcreds.ErrNotFound) {
		t.Errorf("Get after Remove: %v; want ErrNotFound", err)
	}
	if err := s.Remove(ctx, "hub"); !errors.Is(err, upstreamcreds.ErrNotFound) {
		t.Errorf("second Remove: %v; want ErrNotFound", err)
	}
}

// TestWrongKey: a server with another key refuses with an error that names
// both keys' fingerprints and the fix, and never the password.
func TestWrongKey(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	meta := openMeta(t)
	dir := t.TempDir()
	first := upstreamcreds.New(meta, upstreamcreds.Options{KeyPath: filepath.Join(dir, "a.key"), CreateKey: true})
	info, err := first.Set(ctx, "hub", "acme", secret)
	if err != nil {
		t.Fatal(err)
	}
	other := upstreamcreds.New(meta, upstreamcreds.Options{KeyPath: filepath.Join(dir, "b.key"), CreateKey: true})
	if _, err := other.Set(ctx, "ghcr", "x", "y"); err != nil { // makes b.key
		t.Fatal(err)
	}
	_, err = other.Get(ctx, "hub")
	if err == nil {
		t.Fatal("Get with another key succeeded")
	}
	for _, want := range []string{info.KeyID, "b.key", "proxy.credentials_key_file", "wharf mirror credentials set hub"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if strings.Contains(err.Error(), secret) {
		t.Error("the error holds the password")
	}
	// A configured key file that does not exist is not made, and the
	// error says how to make it.
	missing := upstreamcreds.New(meta, upstreamcreds.Options{KeyPath: filepath.Join(dir, "missing.key")})
	if _, err := missing.Set(ctx, "hub", "acme", secret); !errors.Is(err, upstreamcreds.ErrNoKey) || !strings.Contains(err.Error(), "openssl rand -base64 32") {
		t.Errorf("Set with a missing configured key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.key")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a configured key was made: %v", err)
	}
}

// TestSealBindsUpstream: a sealed row copied to another upstream (or
// another username) does not open.
func TestSealBindsUpstream(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	meta := openMeta(t)
	s := upstreamcreds.New(meta, upstreamcreds.Options{KeyPath: filepath.Join(t.TempDir(), "k"), CreateKey: true})
	if _, err := s.Set(ctx, "hub", "acme", secret); err != nil {
		t.Fatal(err)
	}
	row, err := meta.UpstreamCredentialOf(ctx, "hub")
	if err != nil {
		t.Fatal(err)
	}
	for _, moved := range []metadata.UpstreamCredential{
		{Upstream: "ghcr", Username: row.Username, Sealed: row.Sealed, KeyID: row.KeyID, Updated: row.Updated},
		{Upstream: "hub", Username: "mallory", Sealed: row.Sealed, KeyID: row.KeyID, Updated: row.Updated},
	} {
		if err := meta.PutUpstreamCredential(ctx, moved); err != nil {
			t.Fatal(err)
		}
		_, err := s.Get(ctx, moved.Upstream)
		if err == nil || !strings.Contains(err.Error(), "does not open") || strings.Contains(err.Error(), secret) {
			t.Errorf("Get of a row moved to %s/%s: %v", moved.Upstream, moved.Username, err)
		}
	}
}

func TestRefusedCredentials(t *testing.T) {
	t.Parallel()
	s := upstreamcreds.New(openMeta(t), upstreamcreds.Options{KeyPath: filepath.Join(t.TempDir(), "k"), CreateKey: true})
	tests := []struct {
		name, user string
		pass       auth.Secret
		want       string
	}{
		{"no username", "", secret, "username must be"},
		{"no password", "u", "", "password must be"},
		{"colon", "a:b", secret, "colon"},
		{"newline in password", "u", secret + "\n", "line break"},
		{"long password", "u", auth.Secret(strings.Repeat("x", upstreamcreds.MaxPassword+1)), "password must be"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Set(t.Context(), "hub", tc.user, tc.pass)
			if !errors.Is(err, upstreamcreds.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Set: %v; want %q", err, tc.want)
			}
			if tc.pass != "" && strings.Contains(err.Error(), tc.pass.Reveal()) {
				t.Error("the error echoes the password")
			}
		})
	}
}

// TestKeyFileReplaced: a Set after the key file was replaced seals with the
// new key, and the credential opens without a new store (no restart).
func TestKeyFileReplaced(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	p := filepath.Join(t.TempDir(), "k")
	s := upstreamcreds.New(openMeta(t), upstreamcreds.Options{KeyPath: p, CreateKey: true})
	first, err := s.Set(ctx, "hub", "acme", secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "hub"); err == nil || !strings.Contains(err.Error(), first.KeyID) {
		t.Errorf("Get of a credential sealed with the replaced key: %v; want the error naming it", err)
	}
	second, err := s.Set(ctx, "hub", "acme", secret)
	if err != nil || second.KeyID == first.KeyID {
		t.Fatalf("Set after the key was replaced: %+v, %v; want another key id", second, err)
	}
	if got, err := s.Get(ctx, "hub"); err != nil || got.Password.Reveal() != secret {
		t.Errorf("Get with the new key: %v", err)
	}
}

func TestLoadKeyRefusesGarbage(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "k")
	if err := os.WriteFile(p, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := upstreamcreds.LoadKey(p); err == nil || !strings.Contains(err.Error(), "32 bytes in base64") {
		t.Errorf("LoadKey of garbage: %v", err)
	}
}

// TestChangesReported: every Set and Remove, made or refused, reaches
// Changed with its upstream and never the password; names no upstream has
// are refused.
func TestChangesReported(t *testing.T) {
	t.Parallel()
	type change struct{ action, target, err string }
	var got []change
	s := upstreamcreds.New(openMeta(t), upstreamcreds.Options{KeyPath: filepath.Join(t.TempDir(), "k"), CreateKey: true,
		Upstreams: []string{"hub", "mirror"},
		Changed: func(_ context.Context, action, target string, err error) {
			c := change{action: action, target: target}
			if err != nil {
				c.err = err.Error()
			}
			got = append(got, c)
		}})
	ctx := t.Context()
	if _, err := s.Set(ctx, "hub", "acme", secret); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Set(ctx, "ghcr", "acme", secret); !errors.Is(err, upstreamcreds.ErrUnknownUpstream) || !strings.Contains(err.Error(), "hub, mirror") {
		t.Errorf("Set of an unknown upstream: %v", err)
	}
	if err := s.Remove(ctx, "hub"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != (change{upstreamcreds.ActionSet, "upstream hub", ""}) || got[1].err == "" ||
		got[2] != (change{upstreamcreds.ActionRemove, "upstream hub", ""}) {
		t.Errorf("changes = %+v", got)
	}
	if strings.Contains(fmt.Sprint(got), secret) {
		t.Error("a change holds the password")
	}
}

// BenchmarkGet is what a token request costs the store: one row read from
// SQLite and one AES-GCM open.
func BenchmarkGet(b *testing.B) {
	meta, err := metadata.Open(b.Context(), "sqlite", filepath.Join(b.TempDir(), "wharf.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer meta.Close()
	s := upstreamcreds.New(meta, upstreamcreds.Options{KeyPath: filepath.Join(b.TempDir(), "k"), CreateKey: true})
	if _, err := s.Set(b.Context(), "hub", "acme", secret); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Get(b.Context(), "hub"); err != nil {
			b.Fatal(err)
		}
	}
}
