package password_test

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"wharf/internal/auth"
	"wharf/internal/auth/password"
)

func TestCheckHash(t *testing.T) {
	t.Parallel()
	good, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		hash string
		want string // "" for valid
	}{
		{string(good), ""},
		{"$2y$" + string(good[4:]), ""},
		{"$2b$" + string(good[4:]), ""},
		{"$2x$" + string(good[4:]), "unknown bcrypt variant"},
		{"$2y$" + string(good[4:20]), "malformed"},
		{"$2y$99$" + string(good[7:]), "malformed"},
		{"$2y$18$" + string(good[7:]), "cost 18 is above 17"},
		{"", "empty"},
		{"hunter2", "plain-text password"},
		{"$apr1$wnnc.VS3$jPQ.v/.ZKZTyV3Yj6/y.M/", "Apache MD5"},
		{"{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=", "SHA-1"},
		{"DMe.1N372nihY", "DES-crypt"},
		{"$5$DJyHLGoCTiL.dOsj$8S2DuuVovgS3FvBvFPK2W6Or77dyezZ3sbd0V.HZlX.", "SHA-256-crypt"},
		{"$1$abc$def", "MD5-crypt"},
		{"$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", "Argon2"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			t.Parallel()
			err := password.CheckHash(tc.hash)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, password.ErrNotBcrypt) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "htpasswd -nB USER") {
				t.Errorf("error = %v, want ErrNotBcrypt mentioning %q and how to hash", err, tc.want)
			}
			if tc.hash != "" && strings.Contains(err.Error(), tc.hash) {
				t.Errorf("error %q contains the value", err)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if ok, err := password.Verify(t.Context(), h, "pw"); !ok || err != nil {
		t.Errorf("right: %v, %v", ok, err)
	}
	if ok, err := password.Verify(t.Context(), h, "pW"); ok || err != nil {
		t.Errorf("wrong: %v, %v", ok, err)
	}
	if ok, err := password.Verify(t.Context(), []byte("junk"), auth.Secret("hunter2")); ok || err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("bad hash: %v, %v", ok, err)
	}
}

func TestHash(t *testing.T) {
	t.Parallel()
	h, err := password.Hash("correct horse battery", 4)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$2y$04$") || bcrypt.CompareHashAndPassword([]byte(h), []byte("correct horse battery")) != nil {
		t.Errorf("Hash = %q; want a $2y$ bcrypt hash of the password", h)
	}
	if err := password.CheckHash(h); err != nil {
		t.Errorf("CheckHash refuses what Hash makes: %v", err)
	}
	for _, cost := range []int{0, 3, 18, 31} {
		if h, err := password.Hash("correct horse battery", cost); err == nil || strings.Contains(err.Error(), "correct horse") {
			t.Errorf("cost %d: %q, %v; want an error without the password", cost, h, err)
		}
	}
}

func TestCost(t *testing.T) {
	t.Parallel()
	h5, _ := bcrypt.GenerateFromPassword([]byte("x"), 5)
	for _, tc := range []struct {
		hash string
		cost int
		ok   bool
	}{
		{string(h5), 5, true},
		{"$2y$18$" + string(h5[7:]), 0, false},
		{"junk", 0, false},
		{"", 0, false},
	} {
		if c, ok := password.Cost([]byte(tc.hash)); c != tc.cost || ok != tc.ok {
			t.Errorf("Cost(%.10q) = %d, %v; want %d, %v", tc.hash, c, ok, tc.cost, tc.ok)
		}
	}
}

func TestDummyHashAndTypicalCost(t *testing.T) {
	t.Parallel()
	h := func(cost int) []byte {
		b, _ := bcrypt.GenerateFromPassword([]byte("x"), cost)
		return b
	}
	if got := password.TypicalCost([][]byte{h(4), h(5), h(5), []byte("junk")}); got != 5 {
		t.Errorf("TypicalCost = %d, want 5", got)
	}
	if got := password.TypicalCost([][]byte{h(4), h(5)}); got != 5 {
		t.Errorf("tie: TypicalCost = %d, want the higher, 5", got)
	}
	if got := password.TypicalCost(nil); got != bcrypt.DefaultCost {
		t.Errorf("none: TypicalCost = %d", got)
	}
	d := password.DummyHash(5)
	if cost, err := bcrypt.Cost(d); err != nil || cost != 5 {
		t.Errorf("DummyHash cost = %d, %v", cost, err)
	}
	if string(password.DummyHash(5)) != string(d) {
		t.Error("DummyHash is made once per cost")
	}
	if cost, _ := bcrypt.Cost(password.DummyHash(1)); cost != bcrypt.MinCost {
		t.Errorf("cost below the minimum gives %d", cost)
	}
}
