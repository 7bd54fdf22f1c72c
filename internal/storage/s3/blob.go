package s3

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// blob reads a committed object from its position: Seek only moves the
// position, and Read opens a ranged GET from there when the body it holds
// is elsewhere. http.ServeContent seeks to the end and back before it
// copies, which then costs no request.
type blob struct {
	ctx     context.Context //nolint:containedctx // the request's, for the GETs that Read makes: Read has none
	d       *Driver
	key     string
	size    int64
	pos     int64
	body    io.ReadCloser // nil, or open at bodyPos
	rd      *bufio.Reader // nil, or a pooled buffer over body
	bodyPos int64
	closed  bool
}

func (b *blob) Size() int64 { return b.size }

func (b *blob) Read(p []byte) (int, error) {
	if b.closed {
		return 0, errors.New("storage: s3: read of a closed blob")
	}
	if b.pos >= b.size {
		return 0, io.EOF
	}
	if b.body != nil && b.bodyPos != b.pos {
		b.release()
	}
	if b.body == nil {
		rng := "bytes=" + strconv.FormatInt(b.pos, 10) + "-"
		out, err := b.d.client.GetObject(b.ctx, &awss3.GetObjectInput{Bucket: &b.d.bucket, Key: &b.key, Range: &rng})
		if err != nil {
			return 0, b.d.fail(err, "read "+b.key)
		}
		b.body, b.bodyPos = out.Body, b.pos
		b.buffer()
	}
	var n int
	var err error
	if b.rd != nil {
		n, err = b.rd.Read(p)
	} else {
		n, err = b.body.Read(p)
	}
	b.pos += int64(n)
	b.bodyPos = b.pos
	if errors.Is(err, io.EOF) && b.pos < b.size {
		// The object is shorter than HEAD said: it was replaced or cut.
		return n, fmt.Errorf("storage: s3: %s ended at %d of %d bytes: %w", b.key, b.pos, b.size, io.ErrUnexpectedEOF)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return n, b.d.fail(err, "read "+b.key)
	}
	return n, err
}

func (b *blob) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = b.pos + offset
	case io.SeekEnd:
		abs = b.size + offset
	default:
		return 0, errors.New("storage: s3: seek: invalid whence")
	}
	if abs < 0 {
		return 0, errors.New("storage: s3: seek before the start")
	}
	b.pos = abs
	return abs, nil
}

func (b *blob) Close() error {
	b.closed = true
	return b.release()
}

// readBuffers hold the bytes of a GET's body between the socket and
// Read. http.ServeContent copies in 32 KiB reads; read straight from the
// connection, each is a system call that often returns less, and reading
// the S3 socket cost more CPU than writing the client's. A large buffer
// takes what the socket holds in one call; 4 MiB ones cost about 15 %
// less CPU per proxied GiB than 1 MiB ones (docs/performance.md, "Blobs
// on S3"). Pooled: a pull holds one only while its body is open.
var readBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}

// readBufferSize is the buffer of a large read; a rest of a blob smaller
// than a quarter of it is read straight from the body.
const readBufferSize = 4 << 20

// buffer puts a pooled buffer between b.body and Read when what is left
// to read is large enough to gain from it.
func (b *blob) buffer() {
	if b.size-b.pos < readBufferSize/4 {
		b.rd = nil
		return
	}
	b.rd = readBuffers.Get().(*bufio.Reader)
	b.rd.Reset(b.body)
}

// release closes the open body, if any, and returns its buffer.
func (b *blob) release() error {
	if b.body == nil {
		return nil
	}
	err := b.body.Close()
	b.body = nil
	if b.rd != nil {
		b.rd.Reset(nil)
		readBuffers.Put(b.rd)
		b.rd = nil
	}
	return err
}
