package e2e

import (
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql's "pgx", to read the leases table as it is

	"wharf/e2e/harness"
	"wharf/internal/testserver"
)

// TestKilledUploadLockRemoved runs two replicas on PostgreSQL, kills one
// with SIGKILL in the middle of a PATCH, and checks what the killed
// request left: its lock row ("upload:<id>" in gc_leases) stays, held by
// nobody once it expires; wharf gc removes it (upload_locks_deleted 1)
// while the upload itself, not yet stale, stays resumable on the other
// replica.
func TestKilledUploadLockRemoved(t *testing.T) {
	harness.SkipIfShort(t)
	pg := testserver.StartPostgres(t)
	data := t.TempDir()
	env := []string{"WHARF_DATABASE_DRIVER=postgres", "WHARF_DATABASE_DSN=" + pg.DSN}
	serve := func() *harness.Wharf {
		return harness.StartWharfCommand(t, env, "serve", "--addr", "127.0.0.1:0", "--data", data, "--auth", "none", "--tls", "off")
	}
	a, b := serve(), serve()
	t.Cleanup(httpClient.CloseIdleConnections)
	db, err := sql.Open("pgx", pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	locks := func() (n, expired int) {
		t.Helper()
		err := db.QueryRowContext(t.Context(), `SELECT count(*), count(*) FILTER (WHERE expires_at <= $1)
			FROM gc_leases WHERE name LIKE 'upload:%'`, time.Now().UnixNano()).Scan(&n, &expired)
		if err != nil {
			t.Fatal(err)
		}
		return n, expired
	}

	post := do(t, http.MethodPost, a.URL()+"/v2/e2e/killed/blobs/uploads/", nil)
	if post.Status != http.StatusAccepted {
		t.Fatalf("POST on A: %v", post)
	}
	loc := post.Header.Get("Location")
	// A PATCH whose body never ends: A holds the upload's lock while it
	// reads.
	body, feed := io.Pipe()
	t.Cleanup(func() { feed.Close() })
	go func() {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPatch, absolute(a, loc), body)
		req.Header.Set("Content-Type", "application/octet-stream")
		if resp, err := httpClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	if _, err := feed.Write(make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for n, _ := locks(); n == 0; n, _ = locks() {
		if time.Now().After(deadline) {
			t.Fatalf("A's PATCH took no lock in the database:\n%s", a.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	a.Kill9()
	feed.Close()
	if n, _ := locks(); n != 1 {
		t.Fatalf("%d upload locks after the kill, want the killed request's", n)
	}
	// The lock lasts 30s after its last renewal, every 10s.
	deadline = time.Now().Add(45 * time.Second)
	for _, expired := locks(); expired == 0; _, expired = locks() {
		if time.Now().After(deadline) {
			t.Fatal("the killed request's lock did not expire")
		}
		time.Sleep(500 * time.Millisecond)
	}

	cli := wharfCLI{t: t, bin: harness.WharfBinary(t), data: data}
	out := cli.run("", "gc", "--json", "--database-driver", "postgres", "--database-dsn", pg.DSN)
	var res struct {
		UploadsDeleted     int `json:"uploads_deleted"`
		UploadLocksDeleted int `json:"upload_locks_deleted"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("wharf gc --json printed %q: %v", out, err)
	}
	if res.UploadLocksDeleted != 1 || res.UploadsDeleted != 0 {
		t.Errorf("wharf gc: %+v; want the one dead lock removed and no upload", res)
	}
	if n, _ := locks(); n != 0 {
		t.Errorf("%d upload locks left after wharf gc", n)
	}
	status := do(t, http.MethodGet, absolute(b, loc), nil)
	if status.Status != http.StatusNoContent {
		t.Errorf("the upload's status on B after gc: %v; want 204, resumable", status)
	}
	t.Logf("the upload resumes on B at Range %q", status.Header.Get("Range"))
}
