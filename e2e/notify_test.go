package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	_ "modernc.org/sqlite" // reads the queue of the server under test

	"wharf/e2e/harness"
)

// hookEvent is the event of distribution's notifications, decoded the way
// its documentation tells receivers to: with the receiver's own structs.
type hookEvent struct {
	ID        string    `json:"id"`
	Timestamp time.Time `json:"timestamp"`
	Action    string    `json:"action"`
	Target    struct {
		MediaType  string `json:"mediaType"`
		Size       int64  `json:"size"`
		Digest     string `json:"digest"`
		Length     int64  `json:"length"`
		Repository string `json:"repository"`
		URL        string `json:"url"`
		Tag        string `json:"tag"`
		// References are listed with includereferences.
		References []struct {
			MediaType string `json:"mediaType"`
			Digest    string `json:"digest"`
			Size      int64  `json:"size"`
		} `json:"references"`
	} `json:"target"`
	Request struct {
		ID        string `json:"id"`
		Addr      string `json:"addr"`
		Host      string `json:"host"`
		Method    string `json:"method"`
		UserAgent string `json:"useragent"`
	} `json:"request"`
	Actor struct {
		Name string `json:"name"`
	} `json:"actor"`
	Source struct {
		Addr       string `json:"addr"`
		InstanceID string `json:"instanceID"`
	} `json:"source"`
}

func (e hookEvent) String() string {
	what := e.Target.Tag
	if what == "" {
		what = e.Target.Digest
	}
	return e.Action + " " + e.Target.Repository + " " + what
}

// hookReceiver is a webhook endpoint on a fixed loopback address that the
// test can take down and bring back.
type hookReceiver struct {
	t      *testing.T
	addr   string
	secret []byte
	log    *log.Logger

	mu     sync.Mutex
	events []hookEvent
	srv    *http.Server
	bad    []string // requests that broke the protocol
}

func startHookReceiver(t *testing.T, secret string) *hookReceiver {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "receiver.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	r := &hookReceiver{t: t, secret: []byte(secret), log: log.New(f, "", log.LstdFlags|log.Lmicroseconds)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.serve(ln)
	t.Cleanup(r.down)
	return r
}

func (r *hookReceiver) URL() string { return "http://" + r.addr + "/events" }

func (r *hookReceiver) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(r.handle), ErrorLog: r.log, ReadHeaderTimeout: 10 * time.Second}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// down closes the listener: deliveries fail with connection refused.
func (r *hookReceiver) down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// up listens on the same address again.
func (r *hookReceiver) up() {
	r.t.Helper()
	var (
		ln  net.Listener
		err error
	)
	for range 50 { // the port was ours a moment ago; the kernel may hold it briefly
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			r.serve(ln)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.t.Fatalf("receiver: listening on %s again: %v", r.addr, err)
}

func (r *hookReceiver) handle(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	problem := ""
	switch {
	case err != nil:
		problem = err.Error()
	case req.Method != http.MethodPost || req.URL.Path != "/events":
		problem = req.Method + " " + req.URL.Path
	case req.Header.Get("Content-Type") != "application/vnd.docker.distribution.events.v1+json":
		problem = "Content-Type " + req.Header.Get("Content-Type")
	case req.Header.Get("Authorization") != "Bearer hook-token":
		problem = "no configured header"
	case len(r.secret) > 0 && !validSignature(r.secret, body, req.Header.Get("X-Wharf-Signature")):
		problem = "bad signature " + req.Header.Get("X-Wharf-Signature")
	}
	var env struct {
		Events []hookEvent `json:"events"`
	}
	if problem == "" {
		if err := json.Unmarshal(body, &env); err != nil {
			problem = "envelope: " + err.Error()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if problem != "" {
		r.bad = append(r.bad, problem)
		r.log.Printf("refused: %s", problem)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	for _, e := range env.Events {
		r.log.Printf("event %s %s", e.ID, e)
	}
	r.events = append(r.events, env.Events...)
}

// validSignature is the check docs/notifications.md shows receivers.
func validSignature(secret, body []byte, header string) bool {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(want), []byte(header))
}

// waitEvents waits until the receiver holds n events and returns them.
func (r *hookReceiver) waitEvents(n int) []hookEvent {
	r.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r.mu.Lock()
		got, bad := append([]hookEvent(nil), r.events...), append([]string(nil), r.bad...)
		r.mu.Unlock()
		if len(bad) > 0 {
			r.t.Fatalf("the receiver refused deliveries: %v", bad)
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("the receiver got %d events, want %d: %v", len(got), n, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wantEvents checks got against want ("action repo tag-or-digest").
func wantEvents(t *testing.T, got []hookEvent, want ...string) {
	t.Helper()
	var have []string
	for _, e := range got {
		have = append(have, e.String())
	}
	if strings.Join(have, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events in order:\n%s\nwant:\n%s", strings.Join(have, "\n"), strings.Join(want, "\n"))
	}
}

// hookImage is one small image pushed over plain HTTP.
type hookImage struct {
	config, layer []byte
	manifest      []byte
	digest        digest.Digest
}

func newHookImage(name string) hookImage {
	img := hookImage{config: []byte(`{"architecture":"amd64","os":"linux","name":"` + name + `"}`), layer: []byte("layer of " + name)}
	img.manifest = fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},`+
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":%q,"size":%d}]}`,
		digest.FromBytes(img.config), len(img.config), digest.FromBytes(img.layer), len(img.layer))
	img.digest = digest.FromBytes(img.manifest)
	return img
}

// push uploads the image's blobs and its manifest under tag; the events it
// causes are returned in order.
func (img hookImage) push(t *testing.T, base, repo, tag string) []string {
	t.Helper()
	var evs []string
	for _, b := range [][]byte{img.config, img.layer} {
		r := do(t, http.MethodPost, base+"/v2/"+repo+"/blobs/uploads/", nil)
		if r.Status != http.StatusAccepted {
			t.Fatalf("start upload: %s", r)
		}
		loc := r.Header.Get("Location")
		if !strings.HasPrefix(loc, "http") {
			loc = base + loc
		}
		sep := "?"
		if strings.Contains(loc, "?") {
			sep = "&"
		}
		d := digest.FromBytes(b)
		if r := do(t, http.MethodPut, loc+sep+"digest="+d.String(), bytes.NewReader(b), "Content-Type", "application/octet-stream"); r.Status != http.StatusCreated {
			t.Fatalf("finish upload: %s", r)
		}
		evs = append(evs, "push "+repo+" "+d.String())
	}
	if r := do(t, http.MethodPut, base+"/v2/"+repo+"/manifests/"+tag, bytes.NewReader(img.manifest),
		"Content-Type", "application/vnd.oci.image.manifest.v1+json"); r.Status != http.StatusCreated {
		t.Fatalf("put manifest: %s", r)
	}
	return append(evs, "push "+repo+" "+tag)
}

// pendingNotifications counts the events queued in a server's SQLite
// database (a row may carry several).
func pendingNotifications(t *testing.T, dataDir string) int {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dataDir, "wharf.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COALESCE(SUM(events), 0) FROM notify_events").Scan(&n); err != nil {
		t.Fatalf("counting queued notifications: %v", err)
	}
	return n
}

// TestNotificationsToReceiver: a receiver written as distribution's
// documentation describes gets push, pull and delete events in order,
// signed, including those queued while it was down and across a kill -9 of
// the server.
func TestNotificationsToReceiver(t *testing.T) {
	t.Parallel()
	hook := startHookReceiver(t, "hook-secret")
	cfg := writeConfig(t, t.TempDir(), `notifications:
  endpoints:
    - name: receiver
      url: `+hook.URL()+`
      headers:
        Authorization: [Bearer hook-token]
      timeout: 2s
      threshold: 2
      backoff: 100ms
      secret: hook-secret
`)
	begin := time.Now()
	w := startWharf(t, "--config", cfg)
	base := w.URL()
	t.Logf("wharf started in %v", time.Since(begin).Round(time.Millisecond))

	img := newHookImage("one")
	want := img.push(t, base, "e2e/hooks", "v1")
	if r := do(t, http.MethodGet, base+"/v2/e2e/hooks/manifests/v1", nil, "Accept", "application/vnd.oci.image.manifest.v1+json"); r.Status != http.StatusOK {
		t.Fatalf("pull: %s", r)
	}
	want = append(want, "pull e2e/hooks v1")
	layer := digest.FromBytes(img.layer)
	if r := do(t, http.MethodGet, base+"/v2/e2e/hooks/blobs/"+layer.String(), nil); r.Status != http.StatusOK {
		t.Fatalf("pull blob: %s", r)
	}
	want = append(want, "pull e2e/hooks "+layer.String())
	if r := do(t, http.MethodDelete, base+"/v2/e2e/hooks/manifests/"+img.digest.String(), nil); r.Status != http.StatusAccepted {
		t.Fatalf("delete: %s", r)
	}
	want = append(want, "delete e2e/hooks "+img.digest.String())
	begin = time.Now()
	got := hook.waitEvents(len(want))
	wantEvents(t, got, want...)
	t.Logf("%d events delivered %v after the last request", len(got), time.Since(begin).Round(time.Millisecond))
	push := got[2]
	if push.Target.MediaType != "application/vnd.oci.image.manifest.v1+json" || push.Target.Digest != img.digest.String() ||
		push.Target.Size != int64(len(img.manifest)) || push.Target.Length != push.Target.Size ||
		push.Target.URL != base+"/v2/e2e/hooks/manifests/"+img.digest.String() || push.Request.Method != http.MethodPut ||
		push.Request.ID == "" || push.Request.Addr != "127.0.0.1" || push.Source.InstanceID == "" || push.Timestamp.IsZero() {
		t.Errorf("the manifest push event is incomplete: %+v", push)
	}
	if got[0].Target.MediaType != "application/octet-stream" {
		t.Errorf("a blob push has media type %q; want application/octet-stream, as distribution sends", got[0].Target.MediaType)
	}

	// Down: the events wait in the database, through a kill -9.
	hook.down()
	img2 := newHookImage("two")
	want = append(want, img2.push(t, base, "e2e/hooks", "v2")...)
	deadline := time.Now().Add(30 * time.Second)
	for pendingNotifications(t, w.DataDir()) < 3 || !strings.Contains(w.Log(), "notification delivery failed") {
		if time.Now().After(deadline) {
			t.Fatalf("the 3 events of the push while the receiver is down were not queued and tried: %d queued\n%s", pendingNotifications(t, w.DataDir()), w.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.Kill9()
	failedBeforeKill := strings.Count(w.Log(), "notification delivery failed")
	if strings.Contains(w.Log(), "hook-secret") || strings.Contains(w.Log(), "hook-token") {
		t.Errorf("the log holds the endpoint's secret or header")
	}
	begin = time.Now()
	w.Restart()
	hook.up()
	t.Logf("restarted in %v", time.Since(begin).Round(time.Millisecond))
	img3 := newHookImage("three")
	want = append(want, img3.push(t, w.URL(), "e2e/hooks", "v3")...)
	begin = time.Now()
	got = hook.waitEvents(len(want))
	wantEvents(t, got, want...)
	t.Logf("the 3 events queued while the receiver was down and 3 pushed after the restart delivered %v after the last request; failed attempts logged before the kill: %d",
		time.Since(begin).Round(time.Millisecond), failedBeforeKill)
	ids := map[string]bool{}
	for _, e := range got {
		if ids[e.ID] {
			t.Errorf("event id %s delivered twice", e.ID)
		}
		ids[e.ID] = true
	}
	if got[len(got)-1].Source.InstanceID == got[0].Source.InstanceID {
		t.Errorf("the restarted server kept its instance id")
	}
	if n := pendingNotifications(t, w.DataDir()); n != 0 {
		t.Errorf("%d notifications still queued after delivery", n)
	}
}

// TestNotificationsFromDistributionConfig: wharf registry reads
// distribution's notifications block, ignoredmediatypes included, and
// includereferences lists the manifest's config and layer in its push and
// pull events, as distribution does.
func TestNotificationsFromDistributionConfig(t *testing.T) {
	t.Parallel()
	hook := startHookReceiver(t, "")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	body := `version: 0.1
storage:
  filesystem:
    rootdirectory: ` + filepath.Join(dir, "data") + `
  delete:
    enabled: true
http:
  addr: 127.0.0.1:0
notifications:
  events:
    includereferences: true
  endpoints:
    - name: alistener
      disabled: false
      url: ` + hook.URL() + `
      headers:
        Authorization: [Bearer hook-token]
      timeout: 1s
      threshold: 10
      backoff: 1s
      ignoredmediatypes:
        - application/octet-stream
`
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	w := harness.StartWharfCommand(t, nil, "registry", "--config", cfg)
	img := newHookImage("dist")
	img.push(t, w.URL(), "e2e/dist", "latest")
	if r := do(t, http.MethodGet, w.URL()+"/v2/e2e/dist/manifests/latest", nil, "Accept", "application/vnd.oci.image.manifest.v1+json"); r.Status != http.StatusOK {
		t.Fatalf("pull: %s", r)
	}
	if r := do(t, http.MethodDelete, w.URL()+"/v2/e2e/dist/manifests/"+img.digest.String(), nil); r.Status != http.StatusAccepted {
		t.Fatalf("delete: %s", r)
	}
	got := hook.waitEvents(3)
	wantEvents(t, got, "push e2e/dist latest", "pull e2e/dist latest", "delete e2e/dist "+img.digest.String())
	want := fmt.Sprintf("[application/vnd.oci.image.config.v1+json %s %d] [application/vnd.oci.image.layer.v1.tar %s %d]",
		digest.FromBytes(img.config), len(img.config), digest.FromBytes(img.layer), len(img.layer))
	for i, e := range got {
		var refs []string
		for _, r := range e.Target.References {
			refs = append(refs, fmt.Sprintf("[%s %s %d]", r.MediaType, r.Digest, r.Size))
		}
		if w := map[bool]string{true: want, false: ""}[i < 2]; strings.Join(refs, " ") != w {
			t.Errorf("event %d (%s) references %v, want %q", i, e, refs, w)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); errors.Is(err, os.ErrNotExist) {
		t.Errorf("rootdirectory was not used")
	}
}
