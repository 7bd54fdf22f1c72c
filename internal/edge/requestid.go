package edge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// RequestIDHeader is the response header that tells a client the id of its
// request, to quote when reporting a problem: the same id is on every log
// line written while the request was served.
const RequestIDHeader = "X-Request-Id"

type requestIDKey struct{}

// NewRequestID returns a fresh request id: 64 random bits in hex.
func NewRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// WithRequestID returns a context that carries id for RequestID.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the id of the request ctx belongs to, or "" outside a
// request.
func RequestID(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
