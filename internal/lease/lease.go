package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"wharf/internal/metadata"
)

// Holder names this process in leases: what, the host, the pid and a
// random suffix, so that two replicas never share a name (containers on
// different hosts may all be pid 1 on a host named alike).
func Holder(what string) string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s on %s (pid %d, %s)", what, host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Turns hands out the turns of one process's jobs.
type Turns struct {
	meta   *metadata.Store
	holder string
}

// New returns the turns of holder over meta's leases.
func New(meta *metadata.Store, holder string) *Turns { return &Turns{meta: meta, holder: holder} }

// Holder is the name this process holds leases under.
func (t *Turns) Holder() string { return t.holder }

// Turn reports whether this process runs job now: it takes the job's lease
// (or renews its own) for ttl, false when another holder's has not
// expired. A job run every interval asks with a ttl above it (Every), so
// that the replica that runs it keeps it while it lives.
func (t *Turns) Turn(ctx context.Context, job string, ttl time.Duration) (bool, error) {
	_, err := t.meta.AcquireLease(ctx, "job:"+job, t.holder, ttl)
	if held := (*metadata.LeaseHeldError)(nil); errors.As(err, &held) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("lease: %s: %w", job, err)
	}
	return true, nil
}

// Every is Turn for a job run every interval, as the func the job is
// handed: the lease lasts two intervals, so one missed tick (a slow run)
// does not hand the job over.
func (t *Turns) Every(job string, interval time.Duration) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) { return t.Turn(ctx, job, 2*interval) }
}
