package registry

import (
	"context"
	"errors"
	"fmt"

	"wharf/internal/metadata"
)

// Admission decides whether a manifest may be stored (quotas). Admit is
// asked before the write and may refuse it; the release it returns is
// called with whether the write then succeeded. Forget is told of every
// manifest deleted from a repository. CheckBlob refuses, before its bytes
// are read, an upload whose announced size alone could never fit.
//
// A refusal is an error with a method Denied() bool returning true: it
// becomes ErrDenied with its message for the client. Any other error is a
// failure to decide (a database error) and fails the request as such,
// without its details.
type Admission interface {
	Admit(ctx context.Context, m *metadata.Manifest) (release func(stored bool), err error)
	Forget(repo string)
	CheckBlob(repo string, size int64) error
}

// checkBlob asks the admission about an upload that will hold size bytes
// (its offset plus an announced Content-Length); unknown sizes pass.
func (r *Registry) checkBlob(repo string, size int64) error {
	if r.opts.Admission == nil || size < 0 {
		return nil
	}
	return admissionError(r.opts.Admission.CheckBlob(repo, size))
}

// admissionError tells a refusal (ErrDenied, shown to the client) from a
// failure to decide.
func admissionError(err error) error {
	var refusal interface{ Denied() bool }
	switch {
	case err == nil:
		return nil
	case errors.As(err, &refusal) && refusal.Denied():
		return deniedError{err}
	}
	return fmt.Errorf("registry: admission: %w", err)
}

// putAdmitted stores m with tags once r.opts.Admission admits it; a refusal
// is ErrDenied with the admission's reason.
func (r *Registry) putAdmitted(ctx context.Context, m *metadata.Manifest, tags []string) error {
	if r.opts.Admission == nil {
		return r.meta.PutManifest(ctx, m, tags)
	}
	release, err := r.opts.Admission.Admit(ctx, m)
	if err != nil {
		return admissionError(err)
	}
	err = r.meta.PutManifest(ctx, m, tags)
	release(err == nil)
	return err
}

// deniedError is ErrDenied with the admission's reason as its message
// ("registry: quota … exceeded …"), which clients show after "denied: ".
type deniedError struct{ reason error }

func (e deniedError) Error() string   { return "registry: " + e.reason.Error() }
func (e deniedError) Unwrap() []error { return []error{ErrDenied, e.reason} }
