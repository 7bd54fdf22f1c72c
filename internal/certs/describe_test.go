package certs

import (
	"encoding/pem"
	"slices"
	"strings"
	"testing"
	"time"

	"wharf/internal/auth/token"
)

func TestDescribe(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	ca, err := newCA("Test CA", testNames, "", DefaultCAValidity, now)
	if err != nil {
		t.Fatal(err)
	}
	serverPEM, serverKey, err := ca.issueServer([]string{"registry.example.com", "10.0.0.3"}, "", DefaultServerValidity, now)
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM, rsaKey, err := ca.issueServer([]string{"rsa.example"}, token.KeyRSA2048, DefaultServerValidity, now)
	if err != nil {
		t.Fatal(err)
	}
	oldPEM, _, err := ca.issueServer([]string{"old.example"}, "", 24*time.Hour, now.Add(-11*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tokenPEM, _, err := ca.issueSigning("Wharf token signer", "", DefaultSigningValidity, now)
	if err != nil {
		t.Fatal(err)
	}
	chain := append(append([]byte{}, serverPEM...), ca.CertPEM()...)
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2, 3}})

	tests := []struct {
		name     string
		data     []byte
		kinds    []string
		want     []string // substrings of the joined String() output
		dontWant []string
	}{
		{"server certificate", serverPEM, []string{KindCertificate}, []string{
			"certificate #1", "subject:        CN=registry.example.com", "issuer:         CN=Test CA",
			"DNS names:      registry.example.com", "IP addresses:   10.0.0.3", "expires in 397 days",
			"key:            ECDSA P-256", "CA:             no", "key usage:      digitalSignature",
			"ext key usage:  serverAuth", "SHA-256:", "not before:     2030-06-01T11:55:00Z", "serial:"}, []string{"EXPIRED"}},
		{"rsa", rsaPEM, []string{KindCertificate}, []string{"RSA 2048", "digitalSignature, keyEncipherment"}, nil},
		{"chain", chain, []string{KindCertificate, KindCertificate}, []string{
			"certificate #1", "certificate #2", "CA:             yes", "keyCertSign, cRLSign", "expires in 3650 days"}, nil},
		{"expired", oldPEM, []string{KindCertificate}, []string{"EXPIRED 10 days ago"}, []string{"expires in"}},
		{"token certificate", tokenPEM, []string{KindCertificate}, []string{"CN=Wharf token signer", "key usage:      digitalSignature"}, []string{"ext key usage"}},
		{"ecdsa key", serverKey, []string{KindPrivateKey}, []string{"private key #1", "ECDSA P-256", "key id:", "libtrust id:"}, []string{"subject", "PRIVATE KEY-----"}},
		{"rsa key", rsaKey, []string{KindPrivateKey}, []string{"RSA 2048"}, nil},
		{"encrypted key", encrypted, []string{KindPrivateKey}, []string{"encrypted"}, nil},
		{"key and certificate", append(append([]byte{}, serverKey...), serverPEM...), []string{KindPrivateKey, KindCertificate}, []string{"private key #1", "certificate #2"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			infos, err := describeAt(tc.data, now)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			var out strings.Builder
			for _, i := range infos {
				kinds = append(kinds, i.Kind)
				out.WriteString(i.String())
			}
			if !slices.Equal(kinds, tc.kinds) {
				t.Errorf("kinds %v, want %v", kinds, tc.kinds)
			}
			for _, s := range tc.want {
				if !strings.Contains(out.String(), s) {
					t.Errorf("output lacks %q:\n%s", s, out.String())
				}
			}
			for _, s := range tc.dontWant {
				if strings.Contains(out.String(), s) {
					t.Errorf("output has %q:\n%s", s, out.String())
				}
			}
		})
	}

	// The fingerprint is openssl's: SHA-256 of the DER, colon-separated hex.
	infos, _ := describeAt(serverPEM, now)
	if len(infos[0].SHA256) != 32*3-1 || strings.ToUpper(infos[0].SHA256) != infos[0].SHA256 {
		t.Errorf("SHA256 = %q", infos[0].SHA256)
	}
	// The key id of a private key matches that of its certificate.
	keyInfos, _ := describeAt(serverKey, now)
	if keyInfos[0].KeyID == "" || keyInfos[0].KeyID != infos[0].KeyID {
		t.Errorf("key id %q, certificate key id %q", keyInfos[0].KeyID, infos[0].KeyID)
	}
}

func TestDescribeRejects(t *testing.T) {
	t.Parallel()
	for name, data := range map[string][]byte{
		"empty":      nil,
		"not PEM":    []byte("hello"),
		"CSR":        pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{1}}),
		"bad cert":   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}),
		"bad key":    pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}),
		"DER inside": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}}),
	} {
		if _, err := Describe(data); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
