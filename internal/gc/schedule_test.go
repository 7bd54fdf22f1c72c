package gc

import (
	"errors"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
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
