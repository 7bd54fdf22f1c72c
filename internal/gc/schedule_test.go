package gc

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/registry"
)

// TestSchedule: a run started on request ends with its Result as the last
// one; a second start while it runs is refused; a run refused by the lease
// (another replica collects) leaves the last run as it was.
func TestSchedule(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.pushBlob("app", "loose")
	e.age()
	s := NewSchedule(e.c, opts(), 0)
	var reported []Result
	s.Done = func(r Result, _ error) { reported = append(reported, r) }
	if _, ok := s.Last(); ok {
		t.Fatal("a last run before any")
	}
	reached, release := make(chan struct{}), make(chan struct{})
	e.c.beforeSweep = func(digest.Digest) {
		close(reached)
		<-release
	}
	done, err := s.Start(t.Context(), false, false)
	if err != nil {
		t.Fatal(err)
	}
	<-reached // the run holds the lease and is sweeping
	if _, err := s.Start(t.Context(), true, false); !errors.Is(err, ErrBusy) {
		t.Errorf("second Start = %v, want ErrBusy", err)
	}
	st, err := s.Status(t.Context())
	if err != nil || !st.Running || st.Lease == nil || st.Last != nil {
		t.Errorf("Status while running = %+v, %v", st, err)
	}
	close(release)
	<-done
	last, ok := s.Last()
	if !ok || last.BlobsDeleted != 1 || last.Error != "" {
		t.Errorf("Last = %+v, %v; want the run that deleted 1 blob", last, ok)
	}

	e.c.beforeSweep = nil
	if _, err := e.meta.AcquireLease(t.Context(), leaseName, "another replica", time.Minute); err != nil {
		t.Fatal(err)
	}
	done, err = s.Start(t.Context(), true, false)
	if err != nil {
		t.Fatal(err)
	}
	<-done
	if again, _ := s.Last(); again != last {
		t.Errorf("a run refused by the lease replaced the last run: %+v", again)
	}
	if len(reported) != 1 || reported[0] != last {
		t.Errorf("Done was told of %+v; want only the run that ran", reported)
	}
	st, err = s.Status(t.Context())
	if err != nil || st.Running || st.Lease == nil || st.Lease.Holder != "another replica" {
		t.Errorf("Status = %+v, %v; want the other replica's lease", st, err)
	}
}

// TestLoopRemovesUploadsWithoutFullRuns: with scheduled collection off
// (interval 0), the loop's uploads-only passes still remove an idle upload
// session, and sweep nothing else: the loose blob stays for a full run.
func TestLoopRemovesUploadsWithoutFullRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	loose := e.pushBlob("app", "loose")
	u, err := e.reg.StartUpload(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	e.age()
	base := opts()
	base.UploadsGrace = time.Second // a pass every 250ms
	s := NewSchedule(e.c, base, 0)
	var (
		mu      sync.Mutex
		passes  []Result
		removed int
	)
	s.Done = func(r Result, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			passes = append(passes, r)
			removed += r.UploadsDeleted
		}
	}
	loopCtx, stop := context.WithCancel(ctx)
	looped := make(chan struct{})
	go func() {
		defer close(looped)
		s.Loop(loopCtx)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := e.reg.UploadStatus(ctx, "app", u.ID)
		if errors.Is(err, registry.ErrUploadUnknown) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("upload %s still there after 30s of uploads passes (status err %v)", u.ID, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	<-looped
	e.wantKept(loose)
	mu.Lock()
	defer mu.Unlock()
	if len(passes) == 0 || removed != 1 {
		t.Errorf("Done was told of %d passes removing %d uploads; want the pass that removed 1", len(passes), removed)
	}
	for _, r := range passes {
		if !r.UploadsOnly || r.BlobsDeleted != 0 {
			t.Errorf("Done was told of %+v; want uploads-only passes", r)
		}
	}
	if last, ok := s.Last(); ok {
		t.Errorf("an uploads pass became the last collection: %+v", last)
	}
}

// TestUploadsOnly: the pass removes idle upload sessions and nothing else.
func TestUploadsOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	loose := e.pushBlob("app", "loose")
	if _, err := e.reg.StartUpload(t.Context(), "app"); err != nil {
		t.Fatal(err)
	}
	e.age()
	o := opts()
	o.UploadsOnly = true
	res := e.run(o)
	if res.UploadsDeleted != 1 || res.BlobsDeleted != 0 || res.OrphansDeleted != 0 || !res.UploadsOnly {
		t.Errorf("result %+v, want 1 upload and no blob", res)
	}
	e.wantKept(loose)
}
