package server

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestWithHeaders(t *testing.T) {
	t.Parallel()
	h := withHeaders(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		map[string][]string{"X-Content-Type-Options": {"nosniff"}}, 365*24*time.Hour)
	for _, tc := range []struct {
		name     string
		tls      bool
		wantHSTS string
	}{
		{"https", true, "max-age=31536000"},
		{"plain http", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/v2/", nil)
			if tc.tls {
				req.TLS = &tls.ConnectionState{}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if got := rec.Header().Get("Strict-Transport-Security"); got != tc.wantHSTS {
				t.Errorf("Strict-Transport-Security = %q, want %q", got, tc.wantHSTS)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("configured header missing: %v", rec.Header())
			}
		})
	}
}
