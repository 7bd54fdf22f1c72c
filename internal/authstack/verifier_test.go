package authstack

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCheckRealmNamesTheCertificateProblem: `wharf registry`'s start-up
// check of its token realm, against a real HTTPS realm whose CA this host
// does not trust (httptest's), says so with the fix, instead of "does not
// answer … check that the token server runs".
func TestCheckRealmNamesTheCertificateProblem(t *testing.T) {
	t.Parallel()
	realm := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(realm.Close)
	var logs bytes.Buffer
	CheckRealm(realm.URL+"/auth/token", "wharf", nil, slog.New(slog.NewTextHandler(&logs, nil)))
	host := strings.TrimPrefix(realm.URL, "https://")
	for _, want := range []string{"token realm's certificate is refused from this host", "signed by a CA this machine does not trust",
		"/etc/docker/certs.d/" + host + "/ca.crt", "SSL_CERT_FILE"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, logs.String())
		}
	}
	if strings.Contains(logs.String(), "token server runs") {
		t.Errorf("the log blames the token server:\n%s", logs.String())
	}
}
