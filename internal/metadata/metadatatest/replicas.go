package metadatatest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"wharf/internal/metadata"
)

// testTokenKeys checks the shared key set: the first key, a rotation that
// retires the old key later, a race of two processes adding the same seq
// (one wins), and the deletion of retired keys.
func testTokenKeys(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	now := time.Now()
	if v, err := s.TokenKeysVersion(ctx); err != nil || v != 0 {
		t.Fatalf("TokenKeysVersion of an empty set = %d, %v", v, err)
	}
	key := func(kid string) metadata.TokenKey {
		return metadata.TokenKey{KID: kid, PrivateKey: "pem-" + kid, Certificate: "cert-" + kid, Created: now}
	}
	// Two first starts at once: one key wins.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() { _, errs[i] = s.AddTokenKey(ctx, 0, key([]string{"a", "b"}[i]), now, now) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, metadata.ErrKeyRace):
			t.Fatalf("AddTokenKey: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("two first keys at once: %d won, want 1 (%v)", won, errs)
	}
	keys, err := s.TokenKeys(ctx, now)
	if err != nil || len(keys) != 1 || keys[0].Seq != 1 || !keys[0].RetireAt.IsZero() {
		t.Fatalf("TokenKeys = %+v, %v; want one current key", keys, err)
	}
	first := keys[0]
	if first.PrivateKey != "pem-"+first.KID || first.Certificate != "cert-"+first.KID {
		t.Errorf("key read back = %+v", first)
	}
	// A stale writer (it read the empty set) adds nothing.
	if _, err := s.AddTokenKey(ctx, 0, key("c"), now, now); !errors.Is(err, metadata.ErrKeyRace) {
		t.Fatalf("AddTokenKey after a stale read = %v, want ErrKeyRace", err)
	}
	retire := now.Add(time.Hour)
	second, err := s.AddTokenKey(ctx, 1, key("d"), retire, now)
	if err != nil || second.Seq != 2 {
		t.Fatalf("rotation = %+v, %v", second, err)
	}
	if v, err := s.TokenKeysVersion(ctx); err != nil || v != 2 {
		t.Fatalf("TokenKeysVersion = %d, %v; want 2", v, err)
	}
	keys, err = s.TokenKeys(ctx, now)
	if err != nil || len(keys) != 2 || keys[0].KID != "d" || !keys[0].RetireAt.IsZero() || keys[1].KID != first.KID {
		t.Fatalf("TokenKeys after rotation = %+v, %v", keys, err)
	}
	if d := keys[1].RetireAt.Sub(retire); d < -time.Microsecond || d > time.Microsecond {
		t.Errorf("old key retires at %v, want %v", keys[1].RetireAt, retire)
	}
	if keys[1].Retired(now) || !keys[1].Retired(retire) {
		t.Errorf("Retired: the old key retires at its time, not before")
	}
	// After its retirement the old key is neither listed nor kept.
	later := retire.Add(time.Second)
	if keys, err = s.TokenKeys(ctx, later); err != nil || len(keys) != 1 || keys[0].KID != "d" {
		t.Fatalf("TokenKeys after retirement = %+v, %v", keys, err)
	}
	if _, err := s.AddTokenKey(ctx, 2, key("e"), later.Add(time.Hour), later); err != nil {
		t.Fatal(err)
	}
	if keys, err = s.TokenKeys(ctx, time.Time{}); err != nil || len(keys) != 2 {
		t.Fatalf("keys kept after a rotation = %+v, %v; want the retired one deleted", keys, err)
	}
}

// testSignIns checks sign-ins (put, update guarded by the password hash,
// import that never overwrites, delete) and attempts taken once.
func testSignIns(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	now := time.Unix(time.Now().Unix(), 0)
	hash := []byte("0123456789abcdef0123456789abcdef")
	r := metadata.SignIn{Backend: "oidc", Account: "alice", PasswordHash: hash, Labels: `{"group":["dev"]}`, Token: `{"access_token":"x"}`,
		Created: now, RevalidateAt: now.Add(time.Hour), ExpiresAt: now.Add(24 * time.Hour)}
	if _, err := s.SignIn(ctx, "oidc", "alice"); !errors.Is(err, metadata.ErrNotFound) {
		t.Fatalf("SignIn before any = %v, want ErrNotFound", err)
	}
	if err := s.PutSignIn(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := s.SignIn(ctx, "oidc", "alice")
	if err != nil || string(got.PasswordHash) != string(hash) || got.Labels != r.Labels || got.Token != r.Token ||
		!got.Created.Equal(now) || !got.RevalidateAt.Equal(r.RevalidateAt) || !got.ExpiresAt.Equal(r.ExpiresAt) {
		t.Fatalf("SignIn = %+v, %v", got, err)
	}
	if _, err := s.SignIn(ctx, "github", "alice"); !errors.Is(err, metadata.ErrNotFound) {
		t.Errorf("another backend's sign-in = %v, want ErrNotFound", err)
	}
	stale := r
	stale.PasswordHash = []byte("ffffffffffffffffffffffffffffffff")
	stale.Labels = `{}`
	if ok, err := s.UpdateSignIn(ctx, stale); err != nil || ok {
		t.Errorf("UpdateSignIn with another hash = %v, %v; want false", ok, err)
	}
	if ok, err := s.ImportSignIn(ctx, stale); err != nil || ok {
		t.Errorf("ImportSignIn over an existing sign-in = %v, %v; want false", ok, err)
	}
	upd := r
	upd.Labels, upd.RevalidateAt = `{"group":["ops"]}`, now.Add(2*time.Hour)
	if ok, err := s.UpdateSignIn(ctx, upd); err != nil || !ok {
		t.Fatalf("UpdateSignIn = %v, %v", ok, err)
	}
	if got, _ := s.SignIn(ctx, "oidc", "alice"); got.Labels != upd.Labels || !got.RevalidateAt.Equal(upd.RevalidateAt) {
		t.Errorf("after update = %+v", got)
	}
	if err := s.DeleteSignIn(ctx, "oidc", "alice", stale.PasswordHash); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignIn(ctx, "oidc", "alice"); err != nil {
		t.Errorf("a delete with another hash removed the sign-in: %v", err)
	}
	if err := s.DeleteSignIn(ctx, "oidc", "alice", hash); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignIn(ctx, "oidc", "alice"); !errors.Is(err, metadata.ErrNotFound) {
		t.Errorf("after delete = %v", err)
	}
	if ok, err := s.ImportSignIn(ctx, r); err != nil || !ok {
		t.Errorf("ImportSignIn of a new account = %v, %v", ok, err)
	}

	// Attempts: taken once, expired ones neither taken nor counted.
	exp := now.Add(10 * time.Minute)
	if err := s.PutSignInAttempt(ctx, "oidc", "state-1", `{"nonce":"n"}`, exp, now, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSignInAttempt(ctx, "oidc", "state-2", `{}`, now.Add(time.Minute), now, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSignInAttempt(ctx, "oidc", "state-3", `{}`, exp, now, 2); !errors.Is(err, metadata.ErrTooManyAttempts) {
		t.Fatalf("a third attempt with max 2 = %v, want ErrTooManyAttempts", err)
	}
	if err := s.PutSignInAttempt(ctx, "github", "state-3", `{}`, exp, now, 2); err != nil {
		t.Errorf("another backend's attempt counted: %v", err)
	}
	if _, ok, err := s.TakeSignInAttempt(ctx, "github", "state-1", now); err != nil || ok {
		t.Errorf("another backend took oidc's attempt: %v, %v", ok, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken := 0
	for range 3 {
		wg.Go(func() {
			a, ok, err := s.TakeSignInAttempt(ctx, "oidc", "state-1", now)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				taken++
				mu.Unlock()
				if a != `{"nonce":"n"}` {
					t.Errorf("attempt = %q", a)
				}
			}
		})
	}
	wg.Wait()
	if taken != 1 {
		t.Errorf("three callbacks with one state took it %d times, want 1", taken)
	}
	if _, ok, err := s.TakeSignInAttempt(ctx, "oidc", "state-2", now.Add(2*time.Minute)); err != nil || ok {
		t.Errorf("an expired attempt was taken: %v, %v", ok, err)
	}
	// state-2 expired: its slot is free again.
	if err := s.PutSignInAttempt(ctx, "oidc", "state-4", `{}`, exp, now.Add(2*time.Minute), 1); err != nil {
		t.Errorf("expired attempts still counted: %v", err)
	}
}

// testDropLease checks the short leases of upload requests: another
// holder's drop leaves the lease, the holder's deletes it, and the next
// request takes it at once.
func testDropLease(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	const name = "upload:0123456789"
	if _, err := s.AcquireLease(ctx, name, "request 1", time.Minute); err != nil {
		t.Fatal(err)
	}
	var held *metadata.LeaseHeldError
	if _, err := s.AcquireLease(ctx, name, "request 2", time.Minute); !errors.As(err, &held) {
		t.Fatalf("a second request took a held lease: %v", err)
	}
	if err := s.DropLease(ctx, name, "request 2"); err != nil {
		t.Fatal(err)
	}
	if l, err := s.CurrentLease(ctx, name); err != nil || l.Holder != "request 1" {
		t.Fatalf("after another holder's drop: %+v, %v; want request 1's lease", l, err)
	}
	if err := s.DropLease(ctx, name, "request 1"); err != nil {
		t.Fatal(err)
	}
	if l, err := s.CurrentLease(ctx, name); err != nil || l.Holder != "" {
		t.Fatalf("after the holder's drop: %+v, %v; want none", l, err)
	}
	if _, err := s.AcquireLease(ctx, name, "request 2", time.Minute); err != nil {
		t.Fatalf("the next request: %v", err)
	}

	// TryLease: one statement, the same rules as AcquireLease.
	const tried = "upload:tried"
	try := func(holder string, ttl time.Duration) bool {
		t.Helper()
		ok, err := s.TryLease(ctx, tried, holder, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !try("request 5", 200*time.Millisecond) || try("request 6", time.Minute) || !try("request 5", 200*time.Millisecond) {
		t.Fatal("TryLease: want request 5 to take and renew the lease and request 6 to be refused")
	}
	if l, err := s.CurrentLease(ctx, tried); err != nil || l.Holder != "request 5" {
		t.Fatalf("after TryLease: %+v, %v", l, err)
	}
	time.Sleep(300 * time.Millisecond) // request 5's lease expires
	if !try("request 6", time.Minute) || try("request 5", time.Minute) {
		t.Fatal("TryLease: want request 6 to take an expired lease, and request 5 to be refused then")
	}
	if err := s.DropLease(ctx, tried, "request 6"); err != nil {
		t.Fatal(err)
	}
	if !try("request 7", time.Minute) {
		t.Fatal("TryLease after the holder dropped the lease: refused")
	}

	// KeepLease renews until its context ends, and reports a lease taken
	// by another holder in between.
	const kept = "upload:kept"
	const ttl = time.Second
	if _, err := s.AcquireLease(ctx, kept, "request 3", ttl); err != nil {
		t.Fatal(err)
	}
	kctx, stop := context.WithCancel(ctx)
	lost := make(chan error, 1)
	done := make(chan struct{})
	go func() { s.KeepLease(kctx, kept, "request 3", ttl, func(err error) { lost <- err }); close(done) }()
	time.Sleep(2 * ttl) // two renewals' worth: the lease must still be request 3's
	if l, err := s.CurrentLease(ctx, kept); err != nil || l.Holder != "request 3" {
		t.Fatalf("a kept lease after twice its ttl: %+v, %v", l, err)
	}
	if err := s.DropLease(ctx, kept, "request 3"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireLease(ctx, kept, "request 4", time.Minute); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-lost:
		if !errors.Is(err, metadata.ErrLeaseLost) {
			t.Errorf("lost: %v, want ErrLeaseLost", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("KeepLease did not report the lease another holder took")
	}
	<-done
	stop()
}

// testDropExpiredLeases: the expired leases under a prefix go (a killed
// upload request's), current ones and other prefixes stay, and a prefix
// with LIKE's wildcards is refused rather than matching too much.
func testDropExpiredLeases(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	for _, l := range []struct {
		name string
		ttl  time.Duration
	}{{"upload:dead1", time.Millisecond}, {"upload:dead2", time.Millisecond}, {"upload:live", time.Minute}, {"uploadx:dead", time.Millisecond}, {"job:gc", time.Millisecond}} {
		if ok, err := s.TryLease(ctx, l.name, "request 1", l.ttl); !ok || err != nil {
			t.Fatalf("take %s: %v %v", l.name, ok, err)
		}
	}
	time.Sleep(20 * time.Millisecond)
	if n, err := s.DropExpiredLeases(ctx, "upload:"); err != nil || n != 2 {
		t.Fatalf("DropExpiredLeases(upload:) = %d, %v; want the 2 expired upload leases", n, err)
	}
	if l, err := s.CurrentLease(ctx, "upload:live"); err != nil || l.Holder != "request 1" {
		t.Errorf("the current lease after the drop: %+v, %v", l, err)
	}
	if n, err := s.DropExpiredLeases(ctx, "upload"); err != nil || n != 1 {
		t.Errorf("DropExpiredLeases(upload) = %d, %v; want uploadx:dead only", n, err)
	}
	for _, bad := range []string{"", "%", "upload_"} {
		if _, err := s.DropExpiredLeases(ctx, bad); err == nil {
			t.Errorf("DropExpiredLeases(%q) accepted", bad)
		}
	}
}
