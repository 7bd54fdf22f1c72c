package s3

import (
	"context"
	"errors"
	"fmt"
	"net"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"wharf/internal/storage"
)

// fail wraps an SDK error for what the driver was doing: a missing key as
// storage.ErrNotFound, a server that cannot be reached or answers 5xx (once
// the retryer gave up) as storage.ErrUnavailable, anything else as it is.
// The message names the bucket and never a credential.
func (d *Driver) fail(err error, what string) error {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded) && !isTransport(err):
		return fmt.Errorf("storage: s3: %s: %w", what, err)
	case isNotFound(err):
		return fmt.Errorf("storage: %s: %w", what, storage.ErrNotFound)
	case isTransport(err) || httpStatus(err) >= 500:
		return fmt.Errorf("storage: s3: %s in %s: %w: %w", what, d.describe(), storage.ErrUnavailable, err)
	}
	return fmt.Errorf("storage: s3: %s in %s: %w", what, d.describe(), err)
}

// apiCode is the S3 error code ("NoSuchKey"), or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// httpStatus is the HTTP status of S3's answer, or 0 when there was none.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// isNotFound reports a missing key. A HEAD's 404 carries no body and so no
// code; a missing bucket is a configuration error, never a missing blob.
func isNotFound(err error) bool {
	switch apiCode(err) {
	case "NoSuchKey", "NotFound":
		return true
	case "NoSuchBucket":
		return false
	}
	return httpStatus(err) == 404
}

// isNoSuchUpload reports a multipart upload that was completed or aborted.
func isNoSuchUpload(err error) bool { return apiCode(err) == "NoSuchUpload" }

// isPrecondition reports a conditional write refused: the key exists
// (If-None-Match) or changed (If-Match).
func isPrecondition(err error) bool {
	switch apiCode(err) {
	case "PreconditionFailed", "ConditionalRequestConflict":
		return true
	}
	s := httpStatus(err)
	return s == 412 || s == 409
}

// isTransport reports an error below HTTP: refused or reset connections,
// timeouts, DNS. The SDK has already retried them.
func isTransport(err error) bool {
	if httpStatus(err) != 0 {
		return false
	}
	var ne net.Error
	var oe *net.OpError
	var rf *smithyhttp.RequestSendError
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.As(err, &rf)
}
