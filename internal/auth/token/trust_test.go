package token

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckTrust(t *testing.T) {
	t.Parallel()
	// CheckTrust reads the real clock, so these certificates are valid now.
	from, to := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	key := testKey(t, KeyECDSAP256, "trusted")
	caKey := testKey(t, KeyECDSAP384, "ca")
	interKey := testKey(t, KeyECDSAP256, "intermediate")
	ca := newCertValid(t, caKey, "Wharf CA", true, nil, nil, from, to)
	inter := newCertValid(t, interKey, "Wharf intermediate", true, ca, caKey, from, to)
	leaf := newCertValid(t, key, "token signer", false, inter, interKey, from, to)
	self := newCertValid(t, key, "auth-server.io", false, nil, nil, from, to)
	renewed := newCertValid(t, key, "auth-server.io", false, nil, nil, from, to)
	expired := newCertValid(t, key, "auth-server.io", false, nil, nil, from.Add(-48*time.Hour), from.Add(-24*time.Hour))
	other := newCertValid(t, testKey(t, KeyRSA2048, "trusted"), "other service", false, nil, nil, from, to)

	tests := []struct {
		name   string
		roots  []*x509.Certificate
		signer any
		want   string // "" when trusted
	}{
		{"self-signed certificate in the bundle", []*x509.Certificate{other, self}, self, ""},
		{"chain to the CA", []*x509.Certificate{ca}, []*x509.Certificate{leaf, inter}, ""},
		{"bare key of a bundle certificate", []*x509.Certificate{self}, key.Public(), ""},
		{"signing key of a bundle certificate", []*x509.Certificate{self}, key, ""},
		{"leaf without its intermediate", []*x509.Certificate{ca}, leaf, "does not chain"},
		{"wrong certificate in the bundle", []*x509.Certificate{other}, self, `bundle: "CN=other service"`},
		{"same key in a renewed certificate", []*x509.Certificate{renewed}, self, "holds the signing key, but in certificate"},
		{"expired signing certificate", []*x509.Certificate{expired}, expired, "expired"},
		{"bare key not in the bundle", []*x509.Certificate{other, ca}, key.Public(), LibtrustKeyID(key.Public())},
		{"empty bundle", nil, self, "empty"},
		{"empty chain", []*x509.Certificate{self}, []*x509.Certificate{}, "empty certificate chain"},
		{"not a key", []*x509.Certificate{self}, "self", "unsupported public key type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := CheckTrust(tc.roots, tc.signer)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("CheckTrust = %v, want trusted", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CheckTrust = %v, want an error containing %q", err, tc.want)
			}
			if !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrKey) {
				t.Errorf("CheckTrust = %v wraps neither ErrUnknownKey nor ErrKey", err)
			}
		})
	}
}
