package token

import (
	"crypto"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// TestVerifiedCache checks the cache of accepted tokens by what Verify
// answers as the clock moves: the same claims again, a refusal once the
// token expires (or when the clock is set back before it was issued),
// every refusal checked in full each time, and claims a caller changes
// that do not change the next answer.
func TestVerifiedCache(t *testing.T) {
	t.Parallel()
	key := testKey(t, KeyECDSAP256, "trusted")
	forged := testKey(t, KeyECDSAP256, "attacker")
	var now atomic.Int64
	now.Store(testNow.UnixNano())
	v := mustVerifier(t, VerifierConfig{Keys: []crypto.PublicKey{key.Public()}, Now: func() time.Time { return time.Unix(0, now.Load()) }})
	raw := signJOSE(t, key, "ES256", Thumbprint(key.Public()), nil, claimsAt(testNow))
	bad := signJOSE(t, forged, "ES256", Thumbprint(key.Public()), nil, claimsAt(testNow))
	tests := []struct {
		name  string
		at    time.Duration // after testNow
		token string
		want  error // nil: accepted
	}{
		{"first use", 0, raw, nil},
		{"again", time.Second, raw, nil},
		{"forged, first", time.Second, bad, ErrSignature},
		{"forged, again", 2 * time.Second, bad, ErrSignature},
		{"just inside the leeway", 5*time.Minute + DefaultLeeway, raw, nil},
		{"expired", 5*time.Minute + DefaultLeeway + time.Second, raw, ErrExpired},
		{"clock set back before iat", -DefaultLeeway - time.Second, raw, ErrNotYetValid},
		{"back in the window", 0, raw, nil},
	}
	for _, tc := range tests {
		now.Store(testNow.Add(tc.at).UnixNano())
		c, err := v.Verify(tc.token)
		switch {
		case tc.want == nil && (err != nil || c.Subject != "alice" || !c.Allows("repository", "team/app", "pull")):
			t.Errorf("%s: %+v, %v; want alice's claims", tc.name, c, err)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s: %+v, %v; want %v", tc.name, c, err, tc.want)
		}
		if c != nil {
			c.Subject, c.Access[0].Name = "mallory", "other/app"
		}
	}
}

// TestVerifiedCacheSkipsTheWork checks that a token accepted once is not
// verified again: the signature check and the claims' JSON allocate
// over a hundred times, a cached answer a handful (the copy of the claims) (counts, not times).
func TestVerifiedCacheSkipsTheWork(t *testing.T) {
	key := testKey(t, KeyECDSAP256, "trusted")
	v := mustVerifier(t, VerifierConfig{Keys: []crypto.PublicKey{key.Public()}})
	raw := signJOSE(t, key, "ES256", Thumbprint(key.Public()), nil, claimsAt(testNow))
	full := testing.AllocsPerRun(20, func() {
		if _, err := v.verify(raw); err != nil {
			t.Fatal(err)
		}
	})
	cached := testing.AllocsPerRun(20, func() {
		if _, err := v.Verify(raw); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("allocations per verification: %.0f in full, %.0f cached", full, cached)
	if cached > 8 || full < 10*cached {
		t.Errorf("a cached verification allocates %.0f times, a full one %.0f: want at most 8, and a tenth of a full one", cached, full)
	}
}

// TestVerifiedBound fills the cache past its bound: it never holds more
// than maxVerified tokens, expired ones go first, and a token added last
// is always found.
func TestVerifiedBound(t *testing.T) {
	t.Parallel()
	var c verified
	live := &Claims{Subject: "alice", Expiry: testNow.Add(time.Hour)}
	dead := &Claims{Subject: "bob", Expiry: testNow.Add(-time.Hour)}
	for i := range maxVerified {
		cl := live
		if i%2 == 0 {
			cl = dead
		}
		c.put(fmt.Sprint(i), cl, testNow, DefaultLeeway)
	}
	c.put("one more", live, testNow, DefaultLeeway)
	if n := len(c.m); n != maxVerified/2+1 {
		t.Errorf("after one past the bound: %d entries, want the %d live ones and the new one", n, maxVerified/2)
	}
	for i := range maxVerified {
		c.put(fmt.Sprint("live", i), live, testNow, DefaultLeeway)
	}
	if n := len(c.m); n > maxVerified {
		t.Errorf("%d entries, more than %d", n, maxVerified)
	}
	if got := c.get("live"+fmt.Sprint(maxVerified-1), testNow, DefaultLeeway); got == nil || got.Subject != "alice" {
		t.Errorf("the token added last: %+v, want alice's claims", got)
	}
}
