package server

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"wharf/internal/config"
)

// TestRecordUsageDaily: the server records the storage per namespace once
// a day without anyone opening the web interface, and a second check of
// the same day counts nothing.
func TestRecordUsageDaily(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Auth = "none"
	var console strings.Builder
	s, err := New(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), &console)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	hs := httptest.NewServer(s.http.Handler)
	t.Cleanup(hs.Close)
	srv := hs.URL

	do := func(method, path, ctype, body string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, srv+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	digest := func(b string) string {
		h := sha256.Sum256([]byte(b))
		return "sha256:" + hex.EncodeToString(h[:])
	}
	imgConfig, layer := `{"architecture":"amd64","os":"linux"}`, "layer bytes"
	for _, b := range []string{imgConfig, layer} {
		if res := do("POST", "/v2/team/app/blobs/uploads/?digest="+digest(b), "application/octet-stream", b); res.StatusCode != http.StatusCreated {
			t.Fatalf("blob upload: %d", res.StatusCode)
		}
	}
	manifest := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + digest(imgConfig) + `","size":` + strconv.Itoa(len(imgConfig)) + `},` +
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + digest(layer) + `","size":` + strconv.Itoa(len(layer)) + `}]}`
	if res := do("PUT", "/v2/team/app/manifests/v1", "application/vnd.oci.image.manifest.v1+json", manifest); res.StatusCode != http.StatusCreated {
		t.Fatalf("manifest PUT: %d", res.StatusCode)
	}

	day := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	got, err := s.recordUsageOnce(t.Context(), day)
	if err != nil || got != "2026-03-04" {
		t.Fatalf("recordUsageOnce = %q, %v; want 2026-03-04", got, err)
	}
	// A day already done counts nothing, even after more pushes.
	if got, err := s.recordUsageOnce(t.Context(), day.Add(time.Hour)); err != nil || got != "2026-03-04" {
		t.Fatalf("second check of the day = %q, %v", got, err)
	}
	if _, err := s.recordUsageOnce(t.Context(), day.AddDate(0, 0, 1)); err != nil {
		t.Fatal(err)
	}
	days, err := s.meta.UsageHistory(t.Context(), "team/", day.AddDate(0, 0, -1))
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 2 {
		t.Fatalf("recorded days of team/: %+v; want 2026-03-04 and 2026-03-05", days)
	}
	want := int64(len(imgConfig) + len(layer) + len(manifest))
	for _, d := range days {
		if d.Repositories != 1 || d.Bytes != want {
			t.Errorf("day %s: %d repositories, %d bytes; want 1 and %d", d.Day.Format(time.DateOnly), d.Repositories, d.Bytes, want)
		}
	}
}
