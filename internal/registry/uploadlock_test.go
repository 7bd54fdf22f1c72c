package registry

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wharf/internal/metadata"
	"wharf/internal/storage/memory"
)

// gatedReader reports its first Read on started and then blocks until gate
// closes: a client whose chunk is still arriving.
type gatedReader struct {
	started, gate chan struct{}
}

func (g *gatedReader) Read([]byte) (int, error) {
	if g.started != nil {
		close(g.started)
		g.started = nil
	}
	<-g.gate
	return 0, io.EOF
}

// TestUploadRequestsTakeTurnsAcrossReplicas: two registries on one
// database and one blob store (two replicas) get a PATCH of the same
// session each. The second waits while the first is still receiving, then
// finds the offset moved (ErrRangeInvalid) instead of writing over the
// first one's bytes; the lease is gone afterwards.
func TestUploadRequestsTakeTurnsAcrossReplicas(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	log := slog.New(slog.DiscardHandler)
	meta, err := metadata.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "wharf.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	blobs := memory.New()
	a, b := New(blobs, meta, log, Options{Replicas: true}), New(blobs, meta, log, Options{Replicas: true})
	u, err := a.StartUpload(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		up  Upload
		err error
	}
	started, gate := make(chan struct{}), make(chan struct{})
	resA, resB := make(chan result, 1), make(chan result, 1)
	go func() {
		up, err := a.AppendUpload(ctx, "app", u.ID, 0, -1, io.MultiReader(strings.NewReader("aaaa"), &gatedReader{started: started, gate: gate}))
		resA <- result{up, err}
	}()
	<-started // A holds the session and is receiving
	go func() {
		up, err := b.AppendUpload(ctx, "app", u.ID, 0, 4, strings.NewReader("bbbb"))
		resB <- result{up, err}
	}()
	select {
	case r := <-resB:
		close(gate)
		t.Fatalf("B's PATCH ended (%+v, %v) while A's was still receiving the same session", r.up, r.err)
	case <-time.After(500 * time.Millisecond):
	}
	close(gate)
	ra, rb := <-resA, <-resB
	if ra.err != nil || ra.up.Offset != 4 {
		t.Fatalf("A's PATCH: %+v, %v; want offset 4", ra.up, ra.err)
	}
	if !errors.Is(rb.err, ErrRangeInvalid) || rb.up.Offset != 4 {
		t.Fatalf("B's PATCH after A's: %+v, %v; want ErrRangeInvalid at offset 4", rb.up, rb.err)
	}
	if l, err := meta.CurrentLease(context.Background(), "upload:"+u.ID); err != nil || l.Holder != "" {
		t.Errorf("the upload's lease after both requests: %+v, %v; want none", l, err)
	}
	st, err := a.UploadStatus(ctx, "app", u.ID)
	if err != nil || st.Offset != 4 {
		t.Errorf("status: %+v, %v; want offset 4", st, err)
	}
}
