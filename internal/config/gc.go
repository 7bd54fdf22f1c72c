package config

import (
	"fmt"
	"time"
)

// GC schedules and tunes online garbage collection (internal/gc): the
// `gc:` section of wharf.yml, read by `wharf serve` and `wharf gc`.
type GC struct {
	// Interval is how often `wharf serve` collects; 0 turns the schedule
	// off (`wharf gc` and the admin API still run it). Default 24h.
	Interval Duration `yaml:"interval"`
	// Grace keeps what was pushed, linked or mounted more recently: a
	// push between its blob uploads and its manifest has that long.
	// Default 24h.
	Grace Duration `yaml:"grace"`
	// UploadsGrace keeps upload sessions updated more recently; older
	// ones are removed with their staged bytes, by full collections and
	// by the server's frequent uploads-only passes. Default 24h. The
	// deprecated uploads.max_age is another name for it.
	UploadsGrace Duration `yaml:"uploads_grace"`
	// DeleteUntagged also deletes, on the schedule, manifests that no tag,
	// kept index or kept subject keeps. Default false.
	DeleteUntagged bool `yaml:"delete_untagged"`
	// LeaseTTL is how long a collection's database lease outlives its
	// holder's last renewal (renewed every third of it): how long a
	// collector killed mid-run keeps the others out. Default 1m.
	LeaseTTL Duration `yaml:"lease_ttl"`
}

// defaultGC is the gc: section when wharf.yml has none.
func defaultGC() GC {
	return GC{Interval: Duration(24 * time.Hour), Grace: Duration(24 * time.Hour), UploadsGrace: Duration(24 * time.Hour),
		LeaseTTL: Duration(time.Minute)}
}

// minGrace bounds gc.grace from below: a push uploads its blobs before its
// manifest, and a blob collected in between fails the push (BLOB_UNKNOWN).
const minGrace = time.Second

// minLeaseTTL bounds gc.lease_ttl from below: a renewal every third of it
// must get through a busy database, or the collection stops half done.
const minLeaseTTL = 3 * time.Second

func (g GC) validate() []error {
	var errs []error
	if g.Interval < 0 {
		errs = append(errs, fmt.Errorf("gc.interval: %s is negative; use 0 to turn scheduled collection off", g.Interval.Std()))
	}
	if g.Grace.Std() < minGrace {
		errs = append(errs, fmt.Errorf("gc.grace: %s is too short: pushes upload their blobs before their manifest, and a blob collected in between fails the push; use at least 1s (default 24h)", g.Grace.Std()))
	}
	if g.UploadsGrace.Std() < minGrace {
		errs = append(errs, fmt.Errorf("gc.uploads_grace: %s is too short: an upload in progress would lose its bytes; use at least 1s (default 24h)", g.UploadsGrace.Std()))
	}
	if g.LeaseTTL.Std() < minLeaseTTL {
		errs = append(errs, fmt.Errorf("gc.lease_ttl: %s is too short: a collection renews its lease every third of it and stops when a renewal is late; use at least 3s (default 1m)", g.LeaseTTL.Std()))
	}
	return errs
}

// Deprecation is an old key a file still uses.
type Deprecation struct {
	// Key is the old key, Line its line; Message says what replaces it.
	Key     string
	Line    int
	Message string
}

// foldUploadsMaxAge moves the deprecated uploads.max_age to
// gc.uploads_grace: both named the age after which an idle upload session
// is removed, and one collector now does it. A file that sets both to
// different values is refused rather than guessed at.
func (f *File) foldUploadsMaxAge() {
	line := f.Line("uploads.max_age")
	if line == 0 {
		return
	}
	old := f.Config.Uploads.MaxAge
	if old.Std() <= 0 {
		f.Problems = append(f.Problems, fmt.Errorf("%s: line %d: uploads.max_age: %s is not a positive duration; it is the old name of gc.uploads_grace: write gc.uploads_grace: 24h instead",
			f.Path, line, old.Std()))
		return
	}
	if newLine := f.Line("gc.uploads_grace"); newLine > 0 && f.Config.GC.UploadsGrace != old {
		f.Problems = append(f.Problems, fmt.Errorf("%s: line %d: uploads.max_age (%s) is the old name of gc.uploads_grace (%s, line %d) and they differ; remove uploads.max_age",
			f.Path, line, old.Std(), f.Config.GC.UploadsGrace.Std(), newLine))
		return
	}
	f.Config.GC.UploadsGrace = old
	f.Deprecations = append(f.Deprecations, Deprecation{Key: "uploads.max_age", Line: line,
		Message: "uploads.max_age is deprecated: garbage collection removes idle upload sessions; write gc.uploads_grace instead (same meaning, now in effect)"})
}
