package s3

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// Defaults of the network timeouts, when Options leaves them 0.
const (
	// DefaultConnectTimeout bounds opening a connection to S3 (TCP and
	// TLS handshakes).
	DefaultConnectTimeout = 10 * time.Second
	// DefaultTimeout is the longest S3 may stay silent: no answer to a
	// request, no byte of a body coming or going. It is not a deadline on
	// a whole transfer, so a large blob moving slowly but steadily is not
	// cut.
	DefaultTimeout = 60 * time.Second
)

// applyTimeouts makes a hung or trickling S3 server an error the retryer
// can act on rather than a request that waits forever: the dial and TLS
// handshake are bounded by opts.ConnectTimeout, and every read and write on
// a connection by opts.Timeout. A server that answers after a long delay,
// or sends a body with pauses longer than the timeout, fails the attempt
// with a network timeout, which the driver reports as
// storage.ErrUnavailable once the attempts are spent.
func applyTimeouts(tr *http.Transport, opts Options) {
	connect, silence := opts.ConnectTimeout, opts.Timeout
	if connect <= 0 {
		connect = DefaultConnectTimeout
	}
	if silence <= 0 {
		silence = DefaultTimeout
	}
	dialer := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &silenceConn{Conn: conn, timeout: silence}, nil
	}
	tr.TLSHandshakeTimeout = connect
	// The connection's deadlines already bound the wait for an answer;
	// this only stops a server that trickles its headers forever.
	tr.ResponseHeaderTimeout = 4 * silence
	// A server that never answers 100 Continue is as silent as one that
	// never answers at all.
	tr.ExpectContinueTimeout = min(time.Second, silence)
}

// silenceConn moves its deadlines forward at every read and write, so that
// each one may wait at most timeout: a rolling window of inactivity, not a
// bound on the connection's life. A write moves the read deadline too: the
// answer to a request is due timeout after its last byte went out, however
// long the connection sat idle in the pool before.
type silenceConn struct {
	net.Conn
	timeout time.Duration
}

func (c *silenceConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	return n, c.silent(err, "answer")
}

func (c *silenceConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(p)
	return n, c.silent(err, "take the request")
}

// silent names the timeout in the error an operator reads, keeping the
// net.Error underneath that marks it as a transport failure.
func (c *silenceConn) silent(err error, what string) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &silenceError{err: err, msg: fmt.Sprintf("S3 did not %s within %v (storage.s3.timeout)", what, c.timeout)}
	}
	return err
}

type silenceError struct {
	err error
	msg string
}

func (e *silenceError) Error() string   { return e.msg }
func (e *silenceError) Unwrap() error   { return e.err }
func (e *silenceError) Timeout() bool   { return true }
func (e *silenceError) Temporary() bool { return true }

var _ net.Error = (*silenceError)(nil)

// newPresigner returns the client that signs redirect URLs: client's own,
// or, when endpoint is set, one that signs for that public address of the
// same S3 server. A signature covers the host, so the URL is signed for the
// address the client will use, and whatever stands at that address must
// pass the Host header through unchanged.
func newPresigner(client *awss3.Client, endpoint string) *awss3.PresignClient {
	if endpoint == "" {
		return awss3.NewPresignClient(client)
	}
	public := awss3.New(client.Options(), func(o *awss3.Options) { o.BaseEndpoint = aws.String(endpoint) })
	return awss3.NewPresignClient(public)
}
