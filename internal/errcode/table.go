package errcode

import "net/http"

// Code names one entry of the table. The zero Code is Unknown, so that an
// error nobody classified is answered as the server's failure, never as
// the client's.
type Code int

// Family is the wire format a code is answered in; codes of one family
// share a value space.
type Family int

const (
	// Registry codes go in the errors array of the OCI distribution format
	// (WriteOCI), which the token server's body also carries (WriteToken).
	Registry Family = iota
	// Admin codes go in the admin API's error object (WriteAdmin).
	Admin
	// Page codes answer a browser with an HTML page (the sign-in pages),
	// which shows the message; the value appears on no wire.
	Page
)

func (f Family) String() string {
	switch f {
	case Registry:
		return "registry"
	case Admin:
		return "admin"
	case Page:
		return "page"
	}
	return "unknown family"
}

// Descriptor is one entry of the table.
type Descriptor struct {
	Code   Code
	Family Family
	// Value is the code on the wire, e.g. "BLOB_UNKNOWN". Several codes may
	// share a value with different statuses (BLOB_UPLOAD_INVALID is 400, or
	// 416 for a bad range, or 408 for a body that stopped arriving): a value
	// and a status together name one entry.
	Value string
	// Status is the HTTP status the code is answered with.
	Status int
	// Message is said when an answer brings no message of its own.
	Message string
}

// The codes. OCI distribution spec codes first, then Wharf's registry
// answers the spec has no code for, the token server's, the admin API's
// and the sign-in pages'.
const (
	Unknown Code = iota // 500: a failure of ours; the log has the details

	BlobUnknown         // 404
	BlobUploadInvalid   // 400
	RangeInvalid        // 416: a chunk that does not start at the acknowledged offset
	UploadStalled       // 408: a blob's bytes stopped arriving; the session keeps what came
	BlobUploadUnknown   // 404
	DigestInvalid       // 400
	ManifestBlobUnknown // 400
	ManifestInvalid     // 400
	ManifestStalled     // 408: a manifest body stopped arriving
	ManifestTooLarge    // 413
	ManifestUnknown     // 404
	NameInvalid         // 400
	NameUnknown         // 404
	SizeInvalid         // 400
	TagInvalid          // 400
	PaginationInvalid   // 400
	Unsupported         // 405: a method the endpoint does not serve
	Unauthorized        // 401, with a challenge
	Denied              // 403
	TooManyRequests     // 429, with Retry-After
	Unavailable         // 503, with Retry-After
	StorageFull         // 507: no room for the bytes or the database's rows; an upload resumes once space is freed

	NotFound     // 404: no such endpoint
	ClientTooOld // 404: a Docker client older than the v2 protocol (the classic nginx rule)

	TokenRequestInvalid // 400: a token request that cannot be answered as asked
	TokenBadCredentials // 400: credentials of a kind the token endpoint does not take
	TokenTimeout        // 408: the form did not arrive in time

	AdminInvalid            // 400: bad input; the field names it
	AdminUnauthorized       // 401: no or wrong credentials
	AdminForbidden          // 403: not granted admin:api:*
	AdminNotFound           // 404
	AdminMethodNotAllowed   // 405
	AdminRequestTimeout     // 408: the body did not arrive in time
	AdminConflict           // 409: the name or membership exists
	AdminPreconditionFailed // 412: If-Match does not match
	AdminTooLarge           // 413
	AdminUnsupportedMedia   // 415
	AdminTooManyRequests    // 429: failed logins rate-limited
	AdminInternal           // 500
	AdminUnavailable        // 503: database or backend down

	PageInvalid     // 400: a sign-in request that is malformed, expired or replayed
	PageDenied      // 403: the provider or the registry refused the user
	PageMethod      // 405
	PageFailed      // 500
	PageUpstream    // 502: the provider cannot be reached or failed
	PageUnavailable // 503: too many sign-ins in progress
	PageNotFound    // 404: a web interface page, or a repository the user may not pull
	PageTooMany     // 429: failed sign-ins rate-limited
	PageConflict    // 409: a change of the web interface refused by what it would leave behind (the last administrator)

	numCodes
)

// table is the one table: every error answer Wharf gives is one of these.
var table = [numCodes]Descriptor{
	Unknown: {Family: Registry, Value: "UNKNOWN", Status: http.StatusInternalServerError,
		Message: "internal error; the server log has the details"},

	BlobUnknown:         {Family: Registry, Value: "BLOB_UNKNOWN", Status: http.StatusNotFound, Message: "blob unknown to registry"},
	BlobUploadInvalid:   {Family: Registry, Value: "BLOB_UPLOAD_INVALID", Status: http.StatusBadRequest, Message: "blob upload invalid"},
	RangeInvalid:        {Family: Registry, Value: "BLOB_UPLOAD_INVALID", Status: http.StatusRequestedRangeNotSatisfiable, Message: "the chunk does not start where the upload is"},
	UploadStalled:       {Family: Registry, Value: "BLOB_UPLOAD_INVALID", Status: http.StatusRequestTimeout, Message: "the blob's bytes stopped arriving; resume the upload"},
	BlobUploadUnknown:   {Family: Registry, Value: "BLOB_UPLOAD_UNKNOWN", Status: http.StatusNotFound, Message: "blob upload unknown to registry"},
	DigestInvalid:       {Family: Registry, Value: "DIGEST_INVALID", Status: http.StatusBadRequest, Message: "provided digest did not match uploaded content"},
	ManifestBlobUnknown: {Family: Registry, Value: "MANIFEST_BLOB_UNKNOWN", Status: http.StatusBadRequest, Message: "manifest references a manifest or blob unknown to registry"},
	ManifestInvalid:     {Family: Registry, Value: "MANIFEST_INVALID", Status: http.StatusBadRequest, Message: "manifest invalid"},
	ManifestStalled:     {Family: Registry, Value: "MANIFEST_INVALID", Status: http.StatusRequestTimeout, Message: "the manifest body stopped arriving; send it again"},
	ManifestTooLarge:    {Family: Registry, Value: "SIZE_INVALID", Status: http.StatusRequestEntityTooLarge, Message: "manifest exceeds the 4 MiB limit"},
	ManifestUnknown:     {Family: Registry, Value: "MANIFEST_UNKNOWN", Status: http.StatusNotFound, Message: "manifest unknown to registry"},
	NameInvalid:         {Family: Registry, Value: "NAME_INVALID", Status: http.StatusBadRequest, Message: "invalid repository name"},
	NameUnknown:         {Family: Registry, Value: "NAME_UNKNOWN", Status: http.StatusNotFound, Message: "repository name not known to registry"},
	SizeInvalid:         {Family: Registry, Value: "SIZE_INVALID", Status: http.StatusBadRequest, Message: "provided length did not match content length"},
	TagInvalid:          {Family: Registry, Value: "TAG_INVALID", Status: http.StatusBadRequest, Message: "manifest tag did not match URI"},
	PaginationInvalid:   {Family: Registry, Value: "PAGINATION_NUMBER_INVALID", Status: http.StatusBadRequest, Message: "invalid number of results requested"},
	Unsupported:         {Family: Registry, Value: "UNSUPPORTED", Status: http.StatusMethodNotAllowed, Message: "the operation is unsupported"},
	Unauthorized:        {Family: Registry, Value: "UNAUTHORIZED", Status: http.StatusUnauthorized, Message: "authentication required"},
	Denied:              {Family: Registry, Value: "DENIED", Status: http.StatusForbidden, Message: "requested access to the resource is denied"},
	TooManyRequests:     {Family: Registry, Value: "TOOMANYREQUESTS", Status: http.StatusTooManyRequests, Message: "too many requests; retry later"},
	Unavailable:         {Family: Registry, Value: "UNAVAILABLE", Status: http.StatusServiceUnavailable, Message: "the service is unavailable; retry later"},
	// 507 rather than distribution's 500 UNKNOWN or a 503: crane retries
	// 500 and 503, which a full disk never answers, and fails on 507 at once
	// printing this message; docker prints no body of a 5xx, only its
	// status line, which 507 makes "Insufficient Storage".
	StorageFull: {Family: Registry, Value: "UNAVAILABLE", Status: http.StatusInsufficientStorage,
		Message: "the registry's storage is full: an administrator must free space; the upload keeps the bytes it acknowledged and can be resumed"},

	NotFound:     {Family: Registry, Value: "NOT_FOUND", Status: http.StatusNotFound, Message: "no such endpoint"},
	ClientTooOld: {Family: Registry, Value: "UNSUPPORTED", Status: http.StatusNotFound, Message: "this Docker client is too old for the registry v2 protocol; use Docker 1.6 or newer"},

	TokenRequestInvalid: {Family: Registry, Value: "UNSUPPORTED", Status: http.StatusBadRequest, Message: "the token request is invalid"},
	TokenBadCredentials: {Family: Registry, Value: "UNAUTHORIZED", Status: http.StatusBadRequest, Message: "only Basic credentials are accepted here"},
	TokenTimeout:        {Family: Registry, Value: "TIMEOUT", Status: http.StatusRequestTimeout, Message: "the request body did not arrive in time; send it again"},

	AdminInvalid:            {Family: Admin, Value: "invalid", Status: http.StatusBadRequest, Message: "the request is invalid"},
	AdminUnauthorized:       {Family: Admin, Value: "unauthorized", Status: http.StatusUnauthorized, Message: "authentication required"},
	AdminForbidden:          {Family: Admin, Value: "forbidden", Status: http.StatusForbidden, Message: "access denied"},
	AdminNotFound:           {Family: Admin, Value: "not_found", Status: http.StatusNotFound, Message: "not found"},
	AdminMethodNotAllowed:   {Family: Admin, Value: "method_not_allowed", Status: http.StatusMethodNotAllowed, Message: "method not allowed"},
	AdminRequestTimeout:     {Family: Admin, Value: "request_timeout", Status: http.StatusRequestTimeout, Message: "the request body did not arrive in time; send it again"},
	AdminConflict:           {Family: Admin, Value: "conflict", Status: http.StatusConflict, Message: "already exists"},
	AdminPreconditionFailed: {Family: Admin, Value: "precondition_failed", Status: http.StatusPreconditionFailed, Message: "If-Match does not match"},
	AdminTooLarge:           {Family: Admin, Value: "too_large", Status: http.StatusRequestEntityTooLarge, Message: "the request body is too large"},
	AdminUnsupportedMedia:   {Family: Admin, Value: "unsupported_media_type", Status: http.StatusUnsupportedMediaType, Message: "send the request body as JSON, with Content-Type: application/json"},
	AdminTooManyRequests:    {Family: Admin, Value: "too_many_requests", Status: http.StatusTooManyRequests, Message: "too many requests; retry later"},
	AdminInternal:           {Family: Admin, Value: "internal", Status: http.StatusInternalServerError, Message: "internal error; the server log has the details"},
	AdminUnavailable:        {Family: Admin, Value: "unavailable", Status: http.StatusServiceUnavailable, Message: "the database is unavailable or failed; retry later (the server log has the details)"},

	PageInvalid:     {Family: Page, Value: "invalid", Status: http.StatusBadRequest, Message: "The sign-in request is malformed. Start again."},
	PageDenied:      {Family: Page, Value: "denied", Status: http.StatusForbidden, Message: "The sign-in was refused."},
	PageMethod:      {Family: Page, Value: "method", Status: http.StatusMethodNotAllowed, Message: "Use GET."},
	PageFailed:      {Family: Page, Value: "failed", Status: http.StatusInternalServerError, Message: "The sign-in failed. Start again."},
	PageUpstream:    {Family: Page, Value: "upstream", Status: http.StatusBadGateway, Message: "The provider cannot be reached; try again later."},
	PageUnavailable: {Family: Page, Value: "unavailable", Status: http.StatusServiceUnavailable, Message: "Too many sign-ins are in progress; try again in a few minutes."},
	PageNotFound:    {Family: Page, Value: "not_found", Status: http.StatusNotFound, Message: "There is no such page, or you may not see it."},
	PageTooMany:     {Family: Page, Value: "too_many_requests", Status: http.StatusTooManyRequests, Message: "Too many failed sign-ins; try again later."},
	PageConflict:    {Family: Page, Value: "conflict", Status: http.StatusConflict, Message: "The change was refused; the page says why."},
}

// Descriptor returns c's entry; a code outside the table is Unknown's.
func (c Code) Descriptor() Descriptor {
	if c < 0 || c >= numCodes {
		c = Unknown
	}
	d := table[c]
	d.Code = c
	return d
}

// Value is the code on the wire.
func (c Code) Value() string { return c.Descriptor().Value }

// Status is the HTTP status c is answered with.
func (c Code) Status() int { return c.Descriptor().Status }

// Message is c's default message.
func (c Code) Message() string { return c.Descriptor().Message }

// String is the family and value, for logs and test failures.
func (c Code) String() string {
	d := c.Descriptor()
	return d.Family.String() + " " + d.Value
}

// Descriptors returns the table, in Code order.
func Descriptors() []Descriptor {
	out := make([]Descriptor, numCodes)
	for c := range numCodes {
		out[c] = c.Descriptor()
	}
	return out
}

// Lookup finds the entry of family f with the wire value and status an
// answer carried.
func Lookup(f Family, value string, status int) (Descriptor, bool) {
	for c := range numCodes {
		if d := c.Descriptor(); d.Family == f && d.Value == value && d.Status == status {
			return d, true
		}
	}
	return Descriptor{}, false
}
