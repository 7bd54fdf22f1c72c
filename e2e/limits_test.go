package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"wharf/e2e/harness"
)

// clientFrom is an HTTP client whose connections come from the loopback
// address ip (127.0.0.0/8 all reach the server), so that one test plays
// clients at two addresses: the docker daemon connects from 127.0.0.1.
func clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func sendFrom(t *testing.T, c *http.Client, req *http.Request) (int, http.Header, string) {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, res.Header, string(b)
}

// TestAuthLimitsDocker: with the real docker client logged in (docker keeps
// the refresh token `docker login` got and trades it for access tokens),
// a client at another address sending bogus refresh tokens gets 429 for
// itself and does not lock docker out: its failures were charged to the
// account "" every client shared, so ten of them failed every pull of
// every logged-in user. Anonymous token requests are capped in scopes and
// rate-limited per address, as configured.
func TestAuthLimitsDocker(t *testing.T) {
	harness.SkipIfShort(t)
	rootfs := busyboxRootfs(t)
	d := harness.StartDockerd(t)
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(authConfig, hash(adminPassword), hash(testPassword))+`
limits:
  anonymous_scopes: 4
  anonymous_token_burst: 5
  anonymous_token_rate: 0.01
`)
	w := harness.StartWharf(t, "--config", cfg, "--auth", "token")
	t.Cleanup(httpClient.CloseIdleConnections)
	image := w.Addr() + "/e2e/private:1"
	d.Run("import", rootfs, image)
	d.Run("login", "-u", "admin", "--password", adminPassword, w.Addr())
	t.Cleanup(func() { d.Run("logout", w.Addr()) })
	d.Run("push", image)
	d.Run("rmi", image)

	attacker := clientFrom(t, "127.0.0.2")
	limited := 0
	for i := range 40 {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {fmt.Sprint("bogus-", i)}, "service": {"wharf"}}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, w.URL()+"/auth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		status, h, body := sendFrom(t, attacker, req)
		switch {
		case status == http.StatusTooManyRequests && h.Get("Retry-After") != "" && strings.Contains(body, "TOOMANYREQUESTS"):
			limited++
		case status != http.StatusUnauthorized:
			t.Fatalf("bogus refresh token %d: %d %s", i, status, body)
		}
	}
	if limited == 0 {
		t.Errorf("40 bogus refresh tokens from one address were never answered 429")
	}
	if out, err := d.TryRun(nil, "pull", image); err != nil {
		t.Fatalf("docker pull with its refresh token, after another address's bogus ones: %v\n%s", err, out)
	}
	if !strings.Contains(w.Log(), "method=POST path=/auth/token status=200") {
		t.Errorf("docker did not trade its refresh token (no 200 on POST /auth/token); the test proves nothing:\n%s", w.Log())
	}

	anonymous := func(c *http.Client, n int) (int, http.Header, string) {
		q := url.Values{"service": {"wharf"}}
		for i := range n {
			q.Add("scope", fmt.Sprintf("repository:e2e/public%d:pull", i))
		}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, w.URL()+"/auth/token?"+q.Encode(), nil)
		return sendFrom(t, c, req)
	}
	if status, _, body := anonymous(attacker, 5); status != http.StatusBadRequest || !strings.Contains(body, "at most 4 scopes") {
		t.Errorf("anonymous, 5 scopes with limits.anonymous_scopes: 4: %d %s", status, body)
	}
	for range 4 { // the burst of 5, less the request above
		if status, _, body := anonymous(attacker, 1); status != http.StatusOK {
			t.Fatalf("anonymous within the burst: %d %s", status, body)
		}
	}
	if status, h, body := anonymous(attacker, 1); status != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
		t.Errorf("anonymous beyond the burst: %d %v %s", status, h, body)
	}
	if status, _, body := anonymous(clientFrom(t, "127.0.0.1"), 1); status != http.StatusOK {
		t.Errorf("anonymous from another address: %d %s", status, body)
	}
	// The refusals above are logged as warnings, each with the id of the
	// request it refused.
	if checkRequestIDs(t, w) == 0 {
		t.Errorf("no warning logged while refusing requests; the request-id check proves nothing:\n%s", w.Log())
	}
}
