package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"wharf/internal/storage"
)

// inflight is a part being sent by a goroutine of its own.
type inflight struct {
	n    int32
	data []byte
	done chan sent
}

type sent struct {
	etag string
	err  error
}

// Size is the number of bytes staged: in parts, on their way, and in the
// tail.
func (w *writer) Size() int64 {
	n := w.partsSize + int64(len(w.buf))
	if w.sending != nil {
		n += int64(len(w.sending.data))
	}
	return n
}

// Write appends p. Each full part goes to S3 in the background while the
// next one fills, so receiving from the client and sending to S3 overlap;
// at most one part is on its way, so an upload holds at most two parts in
// memory. An upload held whole (see Expect) sends nothing until Commit or
// Close, unless it grows past what it announced.
func (w *writer) Write(p []byte) (int, error) {
	switch {
	case w.done:
		return 0, errors.New("storage: write to a finished upload")
	case w.err != nil:
		return 0, w.err
	}
	if n := int64(len(w.buf) + len(p)); w.hold > 0 && n > int64(cap(w.buf)) && n <= w.hold {
		// Straight to the announced size: append grows a large slice by
		// a quarter at a time, which copied a 64 MiB body about seven
		// times over. Expect reserved a part; the rest is reserved once
		// the client has sent that much.
		w.buf = withCap(w.buf, int(w.hold))
	}
	w.buf = append(w.buf, p...)
	if int64(len(w.buf)) > w.hold {
		w.release()
	}
	if err := w.sendFull(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// sendFull sends the full parts of buf, keeping the bytes after the last
// one, unless the upload is held whole.
func (w *writer) sendFull() error {
	if w.hold > 0 {
		return nil
	}
	for int64(len(w.buf)) >= w.d.partSize {
		if err := w.wait(); err != nil {
			return err
		}
		full := w.buf[:w.d.partSize]
		w.buf = append(w.spare[:0], w.buf[w.d.partSize:]...)
		w.spare = nil
		if err := w.send(w.ctx, full); err != nil {
			return err
		}
	}
	return nil
}

// send starts sending data as the next part, starting the multipart upload
// first if need be: a new multipart upload is recorded in the state at
// once, with the parts and tail the state already had, so that
// CancelUpload can abort it even if this request dies before Close.
func (w *writer) send(ctx context.Context, data []byte) error {
	if w.st.Upload == "" {
		id, err := w.d.startMultipart(ctx, w.dataKey, false)
		if err != nil {
			w.err = err
			return err
		}
		w.st.Upload = id
		if err := w.saveUploadID(ctx); err != nil {
			w.err = err
			return err
		}
	}
	f := &inflight{n: int32(len(w.st.Parts) + 1), data: data, done: make(chan sent, 1)}
	// The goroutine reads only copies and the driver, never w.
	key, upload, id := w.dataKey, w.st.Upload, w.id
	go func() {
		out, err := w.d.client.UploadPart(ctx, &awss3.UploadPartInput{Bucket: &w.d.bucket, Key: &key,
			UploadId: &upload, PartNumber: aws.Int32(f.n), Body: bytes.NewReader(data),
			ContentLength: aws.Int64(int64(len(data)))})
		switch {
		case err != nil && isNoSuchUpload(err):
			f.done <- sent{err: fmt.Errorf("storage: upload %s was cancelled: %w", id, storage.ErrNotFound)}
		case err != nil:
			f.done <- sent{err: w.d.fail(err, fmt.Sprintf("upload %s: part %d", id, f.n))}
		default:
			f.done <- sent{etag: aws.ToString(out.ETag)}
		}
	}()
	w.sending = f
	return nil
}

// wait waits for the part on its way, if any, and records it. A failure
// sticks: the bytes of that part are gone from memory, so the writer
// takes no more and saves nothing.
func (w *writer) wait() error {
	if w.err != nil {
		return w.err
	}
	f := w.sending
	if f == nil {
		return nil
	}
	w.sending = nil
	r := <-f.done
	if r.err != nil {
		w.err = r.err
		return r.err
	}
	w.st.Parts = append(w.st.Parts, part{N: f.n, Size: int64(len(f.data)), ETag: r.etag})
	w.partsSize += int64(len(f.data))
	w.spare = f.data
	return nil
}

// uploadPart sends data as the next part and waits for it.
func (w *writer) uploadPart(ctx context.Context, data []byte) error {
	if err := w.wait(); err != nil {
		return err
	}
	if err := w.send(ctx, data); err != nil {
		return err
	}
	return w.wait()
}

// saveUploadID writes the state as it was last saved plus the new
// multipart upload id.
func (w *writer) saveUploadID(ctx context.Context) error {
	saved := &writer{d: w.d, id: w.id, key: w.key}
	if err := saved.load(ctx); err != nil {
		return err
	}
	if w.etag != "" && saved.etag != w.etag {
		return fmt.Errorf("storage: upload %s was taken over by another request: %w", w.id, storage.ErrNotFound)
	}
	saved.st.Upload = w.st.Upload
	if err := saved.putState(ctx, false); err != nil {
		return err
	}
	w.etag = saved.etag
	return nil
}

// withCap returns b's bytes in a slice of capacity n (at least len(b)),
// allocated once: slices.Grow can allocate twice the growth where the
// compiler does not elide its temporary (with -race).
func withCap(b []byte, n int) []byte {
	if n <= cap(b) {
		return b
	}
	nb := make([]byte, len(b), n)
	copy(nb, b)
	return nb
}
