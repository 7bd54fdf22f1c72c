package registry

import (
	"errors"

	"wharf/internal/metadata"
	"wharf/internal/storage"
)

// Sentinel errors. ociapi maps each to one OCI error code.
var (
	ErrBlobUnknown       = errors.New("registry: blob unknown to repository")
	ErrUploadUnknown     = errors.New("registry: upload unknown")
	ErrUploadInvalid     = errors.New("registry: upload invalid")
	ErrRangeInvalid      = errors.New("registry: chunk does not start at the current upload offset")
	ErrDigestInvalid     = errors.New("registry: digest invalid")
	ErrDigestUnsupported = errors.New("registry: digest algorithm unsupported")
	ErrSizeInvalid       = errors.New("registry: size invalid")
	// ErrUploadStalled is what a request body's reader fails with when the
	// client stopped sending: the bytes it sent stay in the upload.
	ErrUploadStalled       = errors.New("registry: upload stalled")
	ErrManifestUnknown     = errors.New("registry: manifest unknown")
	ErrManifestInvalid     = errors.New("registry: manifest invalid")
	ErrManifestTooLarge    = errors.New("registry: manifest too large")
	ErrManifestBlobUnknown = errors.New("registry: manifest references unknown content")
	ErrNameUnknown         = errors.New("registry: repository unknown")
	ErrTagInvalid          = errors.New("registry: tag invalid")
	// ErrStorageFull and ErrDatabaseFull are a write refused for want of
	// space, by blob storage or by the database: nothing became visible,
	// and what an upload acknowledged before stays for it to resume.
	ErrStorageFull  = storage.ErrFull
	ErrDatabaseFull = metadata.ErrFull
	// ErrStorageUnavailable is blob storage that cannot be reached or
	// fails (an object store down, after retries): nothing became visible,
	// and the client can retry.
	ErrStorageUnavailable = storage.ErrUnavailable
	// ErrDenied is a push refused by policy (a quota): the message says
	// which and why.
	ErrDenied = errors.New("registry: denied")
)
