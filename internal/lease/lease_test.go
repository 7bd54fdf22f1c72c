package lease

import (
	"path/filepath"
	"testing"
	"time"

	"wharf/internal/config"
	"wharf/internal/metadata"
)

// TestTurnOneOwner: of two replicas on one database, the first to ask runs
// the job and keeps it while it asks again; the other runs it only once
// the first's lease has expired (it died), and then keeps it.
func TestTurnOneOwner(t *testing.T) {
	t.Parallel()
	meta, err := metadata.Open(t.Context(), config.DriverSQLite, filepath.Join(t.TempDir(), "wharf.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	a, b := New(meta, Holder("wharf serve")), New(meta, Holder("wharf serve"))
	if a.Holder() == b.Holder() {
		t.Fatalf("two processes share the holder name %q", a.Holder())
	}
	const ttl = 300 * time.Millisecond
	turn := func(tt *Turns, job string) bool {
		t.Helper()
		ok, err := tt.Turn(t.Context(), job, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !turn(a, "retention") || turn(b, "retention") || !turn(a, "retention") || turn(b, "retention") {
		t.Fatal("want A to run retention every time and B never while A's lease lasts")
	}
	if !turn(b, "purge uploads") {
		t.Error("another job's lease kept B from its own job")
	}
	time.Sleep(ttl + 100*time.Millisecond) // A stopped asking: it died
	if !turn(b, "retention") || turn(a, "retention") {
		t.Error("after A's lease expired, want B to take retention over and A to wait")
	}
}
