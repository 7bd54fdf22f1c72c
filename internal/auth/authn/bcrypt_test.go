package authn_test

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
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
			err := authn.CheckHash(tc.hash)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, authn.ErrNotBcrypt) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "htpasswd -nB USER") {
				t.Errorf("error = %v, want ErrNotBcrypt mentioning %q and how to hash", err, tc.want)
			}
			if tc.hash != "" && strings.Contains(err.Error(), tc.hash) {
				t.Errorf("error %q contains the value", err)
			}
		})
	}
}

func TestVerifyPassword(t *testing.T) {
	t.Parallel()
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if res, err := authn.VerifyPassword(t.Context(), h, "pw"); res != authn.Accepted || err != nil {
		t.Errorf("right: %v, %v", res, err)
	}
	if res, err := authn.VerifyPassword(t.Context(), h, "pW"); res != authn.WrongPassword || err != nil {
		t.Errorf("wrong: %v, %v", res, err)
	}
	if res, err := authn.VerifyPassword(t.Context(), []byte("junk"), auth.Secret("hunter2")); res != authn.WrongPassword || err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("bad hash: %v, %v", res, err)
	}
}

func TestDummyHashAndTypicalCost(t *testing.T) {
	t.Parallel()
	h := func(cost int) []byte {
		b, _ := bcrypt.GenerateFromPassword([]byte("x"), cost)
		return b
	}
	if got := authn.TypicalCost([][]byte{h(4), h(5), h(5), []byte("junk")}); got != 5 {
		t.Errorf("TypicalCost = %d, want 5", got)
	}
	if got := authn.TypicalCost([][]byte{h(4), h(5)}); got != 5 {
		t.Errorf("tie: TypicalCost = %d, want the higher, 5", got)
	}
	if got := authn.TypicalCost(nil); got != bcrypt.DefaultCost {
		t.Errorf("none: TypicalCost = %d", got)
	}
	d := authn.DummyHash(5)
	if cost, err := bcrypt.Cost(d); err != nil || cost != 5 {
		t.Errorf("DummyHash cost = %d, %v", cost, err)
	}
	if string(authn.DummyHash(5)) != string(d) {
		t.Error("DummyHash is made once per cost")
	}
	if cost, _ := bcrypt.Cost(authn.DummyHash(1)); cost != bcrypt.MinCost {
		t.Errorf("cost below the minimum gives %d", cost)
	}
}
