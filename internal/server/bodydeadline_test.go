package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wharf/internal/config"
	"wharf/internal/testserver"
)

// TestBodyDeadline: a client that trickles the body of a token request,
// an admin API request or a sign-in page's, a byte at a time and never
// stopping for long, is answered once limits.body_timeout has passed (408
// in the endpoint's own error format where the body is read), and its
// connection is closed; the server logs it and keeps serving.
func TestBodyDeadline(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Limits.BodyTimeout = config.Duration(time.Second)
	secret := filepath.Join(t.TempDir(), "github-secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.GitHubAuth = &config.GitHubAuth{OAuthLogin: config.OAuthLogin{ClientID: "id", ClientSecretFile: secret}}
	var logs testserver.SyncBuffer
	srv, adminPW := startComposed(t, cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	admin := "Basic " + basicCredentials("admin", adminPW)

	tests := []struct {
		name, path, contentType, auth string
		status                        int
		// code reads the error code from the endpoint's error body.
		code func(body []byte) string
		want string
	}{
		{"token endpoint", "/auth/token", "application/x-www-form-urlencoded", "", http.StatusRequestTimeout, func(b []byte) string {
			var e struct{ Errors []struct{ Code string } }
			if json.Unmarshal(b, &e) != nil || len(e.Errors) == 0 {
				return ""
			}
			return e.Errors[0].Code
		}, "TIMEOUT"},
		{"classic token path", "/auth", "application/x-www-form-urlencoded", "", http.StatusRequestTimeout, nil, ""},
		{"admin API", "/api/v1/users", "application/json", admin, http.StatusRequestTimeout, func(b []byte) string {
			var e struct{ Error struct{ Code string } }
			if json.Unmarshal(b, &e) != nil {
				return ""
			}
			return e.Error.Code
		}, "request_timeout"},
		// The page reads no body and refuses POST; net/http reads the body
		// before it answers, and that read has the deadline too.
		{"sign-in page", "/auth/github/login", "application/x-www-form-urlencoded", "", http.StatusMethodNotAllowed, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			// Bounds the test if the server never answers: without a body
			// deadline it waits for the 1000 bytes, which take 100 s.
			_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
			header := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: 1000\r\n", tc.path, tc.contentType)
			if tc.auth != "" {
				header += "Authorization: " + tc.auth + "\r\n"
			}
			if _, err := io.WriteString(conn, header+"\r\n"); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				tick := time.NewTicker(100 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						if _, err := conn.Write([]byte("a")); err != nil {
							return
						}
					}
				}
			}()
			br := bufio.NewReader(conn)
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer to a trickled body: %v", err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.status {
				t.Fatalf("a trickled body was answered %d %s; want %d", res.StatusCode, body, tc.status)
			}
			if tc.code != nil && tc.code(body) != tc.want {
				t.Errorf("408 body %s; want code %s", body, tc.want)
			}
			if _, err := br.ReadByte(); err == nil {
				t.Error("the connection stays open after the 408")
			} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Errorf("the connection stays open after the 408: %v", err)
			}
		})
	}
	t.Cleanup(func() {
		if n := strings.Count(logs.String(), "request body did not arrive in time"); n != len(tests) {
			t.Errorf("%d log lines about late bodies; want %d:\n%s", n, len(tests), logs.String())
		}
		// The server still serves, and bodies that arrive in time pass.
		res, err := srv.Client().Post(srv.URL+"/auth/token", "application/x-www-form-urlencoded",
			strings.NewReader("grant_type=password&service=wharf&username=admin&password=wrong"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("a token request after the late ones: %d; want 401", res.StatusCode)
		}
	})
}

func basicCredentials(user, password string) string {
	r, _ := http.NewRequest("GET", "http://x/", nil)
	r.SetBasicAuth(user, password)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}
