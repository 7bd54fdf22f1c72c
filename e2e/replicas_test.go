package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"wharf/e2e/harness"
	"wharf/internal/testserver"
)

// TestReplicas runs two `wharf serve` processes on one PostgreSQL database
// and one data directory (the blobs), as replicas behind a load balancer
// would, and sends the requests of one client to both in turn: a chunked
// upload whose requests alternate between them completes; a token of A
// is accepted by B; a key rotated on A is signed with on A and verified on
// B at once, and the old key's tokens still verify; a user added on A logs
// in on B at once; read-only mode set on A refuses a push on B; a browser
// sign-in started on A and finished on B gives a password A accepts.
func TestReplicas(t *testing.T) {
	harness.SkipIfShort(t)
	const adminPW = "the admin's e2e password"
	pg := testserver.StartPostgres(t)
	op := testserver.StartOIDCProvider(t, carol)
	data := t.TempDir()
	// The provider sends every browser back to B: its port is chosen
	// before it starts.
	portB := freePort(t)
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(`oidc_auth:
  issuer: %q
  client_id: %q
  client_secret_file: %q
  redirect_url: "http://127.0.0.1:%d/auth/oidc/callback"
  user_claim: email
acl:
  - match: {account: admin}
    actions: ["*"]
  - match: {account: "/.+/"}
    actions: [pull]
`, op.Issuer, op.ClientID, op.SecretFile, portB))
	env := []string{"WHARF_DATABASE_DRIVER=postgres", "WHARF_DATABASE_DSN=" + pg.DSN, "WHARF_ADMIN_PASSWORD=" + adminPW}
	serve := func(addr string) *harness.Wharf {
		return harness.StartWharfCommand(t, env, "serve", "--config", cfg, "--addr", addr, "--data", data, "--auth", "token", "--tls", "off")
	}
	a := serve("127.0.0.1:0")
	b := serve(fmt.Sprintf("127.0.0.1:%d", portB))
	t.Cleanup(httpClient.CloseIdleConnections)
	basic := basicAuth("admin", adminPW)
	apiA := adminClient{t: t, base: a.URL() + "/api/v1"}

	const repo = "replicas/app"
	pushScope := "repository:" + repo + ":push,pull"
	tokA, _ := tokenFor(t, a.URL()+"/auth/token", "wharf", pushScope, "admin", adminPW)

	t.Run("a chunked upload alternating between replicas", func(t *testing.T) {
		chunkedAcross(t, repo, tokA, a, b)
	})

	t.Run("a token of A on B", func(t *testing.T) {
		if res := bearerDo(t, "GET", b.URL()+"/v2/"+repo+"/tags/list", tokA, nil, nil); res.StatusCode == http.StatusUnauthorized {
			t.Fatalf("B refused A's token: %d %s\n%s", res.StatusCode, res.body, b.Log())
		}
	})

	t.Run("a key rotated on A", func(t *testing.T) {
		var keys struct {
			Keys []struct {
				KID     string `json:"kid"`
				Signing bool   `json:"signing"`
			} `json:"keys"`
		}
		apiA.must(http.StatusOK, basic, "POST", "/token-keys/rotate", nil, &keys)
		if len(keys.Keys) != 2 || !keys.Keys[0].Signing || keys.Keys[0].KID == kidOf(t, tokA) || keys.Keys[1].KID != kidOf(t, tokA) {
			t.Fatalf("keys after rotation: %+v; want a new signing key and the old one (%s)", keys, kidOf(t, tokA))
		}
		tokNew, _ := tokenFor(t, a.URL()+"/auth/token", "wharf", pushScope, "admin", adminPW)
		if kidOf(t, tokNew) != keys.Keys[0].KID {
			t.Fatalf("A signs with %s after rotating to %s", kidOf(t, tokNew), keys.Keys[0].KID)
		}
		for name, tok := range map[string]string{"the new key's token": tokNew, "the old key's token": tokA} {
			if res := bearerDo(t, "GET", b.URL()+"/v2/"+repo+"/tags/list", tok, nil, nil); res.StatusCode == http.StatusUnauthorized {
				t.Errorf("B refused %s: %d %s", name, res.StatusCode, res.body)
			}
		}
		res := bearerDo(t, "GET", b.URL()+"/auth/jwks.json", "", nil, nil)
		var jwks struct {
			Keys []struct {
				KID string `json:"kid"`
			} `json:"keys"`
		}
		if err := json.Unmarshal([]byte(res.body), &jwks); err != nil || len(jwks.Keys) != 2 {
			t.Errorf("B's JWKS: %v %s; want both keys", err, res.body)
		}
	})

	t.Run("a user added on A logs in on B", func(t *testing.T) {
		const pw = "bob's replica password"
		apiA.must(http.StatusCreated, basic, "POST", "/users", map[string]any{"name": "bob", "password": pw}, nil)
		_, access := tokenFor(t, b.URL()+"/auth/token", "wharf", "repository:"+repo+":pull", "bob", pw)
		if len(access) != 1 || strings.Join(access[0].Actions, ",") != "pull" {
			t.Errorf("bob's token from B grants %+v; want pull", access)
		}
	})

	t.Run("a sign-in started on A and finished on B", func(t *testing.T) {
		pw := browserSignIn(t, op, a.URL()+"/auth/oidc/login", carol)
		if !strings.Contains(b.Log(), "signed in; registry password issued") {
			t.Fatalf("the callback did not reach B:\n%s", b.Log())
		}
		_, access := tokenFor(t, a.URL()+"/auth/token", "wharf", "repository:"+repo+":pull", carol.Email, pw)
		if len(access) != 1 || strings.Join(access[0].Actions, ",") != "pull" {
			t.Errorf("carol's token from A grants %+v; want pull", access)
		}
	})

	t.Run("read-only set on A refuses a push on B", func(t *testing.T) {
		apiA.must(http.StatusOK, basic, "PUT", "/read-only", map[string]any{"read_only": true, "reason": "replica e2e"}, nil)
		// Each replica reads the mode at most every 2 s (docs/replicas.md).
		deadline := time.Now().Add(10 * time.Second)
		var res reply
		for {
			res = bearerDo(t, "POST", b.URL()+"/v2/"+repo+"/blobs/uploads/", tokA, nil, nil)
			if res.StatusCode != http.StatusAccepted || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(res.body, "replica e2e") {
			t.Fatalf("a push on B while A set read-only: %d %s; want 503 with the reason", res.StatusCode, res.body)
		}
		apiA.must(http.StatusOK, basic, "PUT", "/read-only", map[string]any{"read_only": false}, nil)
	})

	for _, w := range []*harness.Wharf{a, b} {
		if strings.Contains(w.Log(), adminPW) || strings.Contains(w.Log(), pg.Password()) {
			t.Errorf("a password reached the log of %s", w.Addr())
		}
	}
}

// chunkedAcross uploads a blob in three chunks with tok: the POST on a,
// the PATCHes on b, a and b, the closing PUT on a; each answer must account
// for every byte so far, and both replicas must then serve the blob.
func chunkedAcross(t *testing.T, repo, tok string, a, b *harness.Wharf) {
	t.Helper()
	chunks := [][]byte{bytes.Repeat([]byte("a"), 300<<10), bytes.Repeat([]byte("b"), 200<<10), bytes.Repeat([]byte("c"), 100<<10)}
	whole := bytes.Join(chunks, nil)
	sum := sha256.Sum256(whole)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	res := bearerDo(t, "POST", a.URL()+"/v2/"+repo+"/blobs/uploads/", tok, nil, nil)
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("POST on A: %d %s", res.StatusCode, res.body)
	}
	loc := res.Header.Get("Location")
	servers := []*harness.Wharf{b, a, b}
	offset := 0
	for i, c := range chunks {
		w := servers[i]
		res := bearerDo(t, "PATCH", absolute(w, loc), tok, c, map[string]string{"Content-Type": "application/octet-stream",
			"Content-Range": fmt.Sprintf("%d-%d", offset, offset+len(c)-1)})
		if res.StatusCode != http.StatusAccepted {
			t.Fatalf("PATCH %d on %s: %d %s", i, w.Addr(), res.StatusCode, res.body)
		}
		offset += len(c)
		if got := res.Header.Get("Range"); got != fmt.Sprintf("0-%d", offset-1) {
			t.Fatalf("PATCH %d on %s: Range %q, want 0-%d", i, w.Addr(), got, offset-1)
		}
		loc = res.Header.Get("Location")
	}
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	res = bearerDo(t, "PUT", absolute(a, loc)+sep+"digest="+digest, tok, nil, nil)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("PUT on A: %d %s", res.StatusCode, res.body)
	}
	for _, w := range []*harness.Wharf{a, b} {
		res := bearerDo(t, "GET", w.URL()+"/v2/"+repo+"/blobs/"+digest, tok, nil, nil)
		if res.StatusCode != http.StatusOK || !bytes.Equal([]byte(res.body), whole) {
			t.Errorf("GET the blob from %s: %d, %d bytes; want the %d bytes uploaded", w.Addr(), res.StatusCode, len(res.body), len(whole))
		}
	}
}

// reply is an answer read whole.
type reply struct {
	StatusCode int
	Header     http.Header
	body       string
}

// bearerDo sends a request with the bearer token (none when empty).
func bearerDo(t *testing.T, method, url, tok string, body []byte, header map[string]string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if body != nil {
		req.Header.Set("Content-Length", strconv.Itoa(len(body)))
	}
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{StatusCode: res.StatusCode, Header: res.Header, body: string(b)}
}

// absolute turns a Location (a path, or a URL of another replica) into a
// URL of w.
func absolute(w *harness.Wharf, loc string) string {
	if i := strings.Index(loc, "/v2/"); i >= 0 {
		loc = loc[i:]
	}
	return w.URL() + loc
}

// kidOf returns the key id in a JWT's header.
func kidOf(t *testing.T, tok string) string {
	t.Helper()
	head, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		KID string `json:"kid"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.KID
}
