package config

import (
	"errors"
	"fmt"
	"time"
)

// Audit configures the audit log: who pushed, pulled, deleted, logged in,
// was denied or changed an account object, kept in the database.
type Audit struct {
	// Enabled turns the audit log on (the default) or off.
	Enabled *bool `yaml:"enabled"`
	// Retention is how long a record is kept; default 90 days.
	Retention Duration `yaml:"retention"`
	// Pulls says which pulls are recorded: manifests (the default: the
	// manifest GET every pull starts with), all (every blob GET too) or
	// off. They are most of a busy registry's records; pushes, deletes,
	// logins, denials and changes are recorded either way.
	Pulls string `yaml:"pulls"`
	// Queue is how many records wait in memory for the database at most;
	// default 10000. When it is full the oldest pull is dropped (and
	// counted), never anything else.
	Queue int `yaml:"queue"`
	// Fold is the window within which repeated pulls — the same account
	// pulling the same target of the same repository from the same
	// address — are written as one record with a count; default a minute.
	// The first pull is written at once, the repeats when the window ends.
	Fold Duration `yaml:"fold"`
}

// DefaultAuditRetention and DefaultAuditQueue are the defaults of Audit.
const (
	DefaultAuditRetention = 90 * 24 * time.Hour
	DefaultAuditQueue     = 10000
	DefaultAuditFold      = time.Minute
	// MaxAuditFold bounds audit.fold: a repeated pull reaches the
	// database at most this long after it happened.
	MaxAuditFold = time.Hour
)

// On reports whether the audit log is on.
func (a Audit) On() bool { return a.Enabled == nil || *a.Enabled }

// The values of audit.pulls.
const (
	AuditPullsManifests = "manifests"
	AuditPullsAll       = "all"
	AuditPullsOff       = "off"
)

// PullsOrDefault is Pulls, or manifests when unset.
func (a Audit) PullsOrDefault() string {
	if a.Pulls == "" {
		return AuditPullsManifests
	}
	return a.Pulls
}

// RetentionOrDefault is Retention, or its default when unset.
func (a Audit) RetentionOrDefault() time.Duration {
	if a.Retention == 0 {
		return DefaultAuditRetention
	}
	return a.Retention.Std()
}

// QueueOrDefault is Queue, or its default when unset.
func (a Audit) QueueOrDefault() int {
	if a.Queue == 0 {
		return DefaultAuditQueue
	}
	return a.Queue
}

// FoldOrDefault is Fold, or its default when unset.
func (a Audit) FoldOrDefault() time.Duration {
	if a.Fold == 0 {
		return DefaultAuditFold
	}
	return a.Fold.Std()
}

func (a Audit) validate() []error {
	var errs []error
	if a.Retention < 0 || (a.Retention > 0 && a.Retention.Std() < time.Hour) {
		errs = append(errs, errors.New("audit.retention: must be at least an hour (for example \"90d\")"))
	}
	switch a.PullsOrDefault() {
	case AuditPullsManifests, AuditPullsAll, AuditPullsOff:
	default:
		errs = append(errs, fmt.Errorf("audit.pulls: %q is not one of manifests, all, off", a.Pulls))
	}
	if f := a.Fold.Std(); f < 0 || (f > 0 && f < time.Second) || f > MaxAuditFold {
		errs = append(errs, fmt.Errorf("audit.fold: %s is not between 1s and 1h (default 1m)", f))
	}
	if a.Queue < 0 || a.Queue > 1_000_000 {
		errs = append(errs, fmt.Errorf("audit.queue: %d is not between 1 and 1000000 (default %d)", a.Queue, DefaultAuditQueue))
	}
	return errs
}
