package s3

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"wharf/internal/storage"
)

// maxStateHeader bounds the JSON line of a state object: 10,000 parts (S3's
// limit) of about 80 bytes each.
const maxStateHeader = 1 << 20

// state is the first line of an upload's state object; the tail's bytes
// follow the newline.
type state struct {
	// Upload is the S3 multipart upload id, "" until the first part.
	Upload string `json:"upload,omitempty"`
	Parts  []part `json:"parts,omitempty"`
}

type part struct {
	N    int32  `json:"n"`
	Size int64  `json:"size"`
	ETag string `json:"etag"`
}

// Upload opens upload id for appending; see storage.Driver.
func (d *Driver) Upload(ctx context.Context, id string, offset int64) (storage.Writer, error) {
	key, err := d.stateKey(id)
	if err != nil {
		return nil, err
	}
	w := &writer{ctx: ctx, d: d, id: id, key: key, dataKey: key + ".data"}
	if offset < 0 {
		// If-None-Match makes creating the state the exclusive step: two
		// creators of one id cannot both succeed.
		if err := w.putState(ctx, true); err != nil {
			return nil, err
		}
		return w, nil
	}
	if err := w.load(ctx); err != nil {
		return nil, err
	}
	size := w.Size()
	switch {
	case offset > size:
		return nil, fmt.Errorf("storage: upload %s has %d bytes, resume at %d: %w", id, size, offset, storage.ErrOffset)
	case offset >= w.partsSize:
		// Bytes past offset come from a request that failed after the
		// caller last acknowledged a range; the client resends them.
		w.buf = w.buf[:offset-w.partsSize]
	default:
		if err := w.rebase(ctx, offset); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// writer stages an upload: full parts go to S3 as they fill, the rest
// waits in buf until Close writes it into the state object.
type writer struct {
	// ctx is the request's that opened the writer: Write has none of its
	// own, and a part it uploads must stop when the client goes away.
	ctx       context.Context //nolint:containedctx // see above
	d         *Driver
	id        string
	key       string // the state object
	dataKey   string // the multipart upload's object
	etag      string // the state object's as last read or written
	st        state
	partsSize int64
	buf       []byte // the tail: bytes after the last part
	// hold is the size up to which buf keeps every byte instead of
	// sending full parts (0: it does not); see Expect.
	hold int64
	// reserved is what this upload took of the driver's held budget for
	// hold, given back by release.
	reserved int64
	done     bool
	// sending is the part on its way to S3 while Write fills the next
	// one; spare is the buffer of the part sent before it, reused.
	sending *inflight
	spare   []byte
	err     error // a part that failed: the writer takes no more bytes
}

// load reads the state object into w.
func (w *writer) load(ctx context.Context) error {
	out, err := w.d.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: &w.d.bucket, Key: &w.key})
	if err != nil {
		return w.d.fail(err, "upload "+w.id)
	}
	defer out.Body.Close()
	w.etag = aws.ToString(out.ETag)
	r := bufio.NewReader(io.LimitReader(out.Body, maxStateHeader+maxPartSize))
	line, err := r.ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("storage: s3: upload %s: state unreadable: %w", w.id, err)
	}
	if err := json.Unmarshal(line, &w.st); err != nil {
		return fmt.Errorf("storage: s3: upload %s: state unreadable: %w", w.id, err)
	}
	for _, p := range w.st.Parts {
		w.partsSize += p.Size
	}
	if w.buf, err = io.ReadAll(r); err != nil {
		return w.d.fail(err, "upload "+w.id)
	}
	return nil
}

// putState writes the parts and the tail as the upload's state. create
// refuses an existing state (fs.ErrExist); otherwise the write is refused
// when the state changed since w read or wrote it (another writer took
// the upload over, or it was cancelled).
func (w *writer) putState(ctx context.Context, create bool) error {
	head, err := json.Marshal(w.st)
	if err != nil {
		return fmt.Errorf("storage: s3: upload %s: %w", w.id, err)
	}
	body := make([]byte, 0, len(head)+1+len(w.buf))
	body = append(append(append(body, head...), '\n'), w.buf...)
	in := &awss3.PutObjectInput{Bucket: &w.d.bucket, Key: &w.key, Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body)))}
	w.d.encrypt(&in.ServerSideEncryption, &in.SSEKMSKeyId)
	conditional := !w.d.unconditional.Load()
	if conditional && create {
		in.IfNoneMatch = aws.String("*")
	} else if conditional && w.etag != "" {
		in.IfMatch = aws.String(w.etag)
	}
	if !conditional {
		if err := w.checkUnconditional(ctx, create); err != nil {
			return err
		}
	}
	out, err := w.d.client.PutObject(ctx, in)
	if err != nil && conditional && apiCode(err) == "NotImplemented" {
		// A server without conditional writes (older Ceph, MinIO, GCS's
		// interoperability): carry on without them, checking first.
		w.d.unconditional.Store(true)
		w.d.log.WarnContext(ctx, "the S3 server refuses conditional writes (If-Match, If-None-Match): upload states are checked before they are written instead, which leaves a short race between two requests of one upload", "err", err)
		return w.putState(ctx, create)
	}
	switch {
	case err != nil && create && isPrecondition(err):
		return fmt.Errorf("storage: create upload %s: %w", w.id, fs.ErrExist)
	case err != nil && (isPrecondition(err) || isNotFound(err)):
		return fmt.Errorf("storage: upload %s was cancelled or taken over by another request: %w", w.id, storage.ErrNotFound)
	case err != nil:
		return w.d.fail(err, "save upload "+w.id)
	}
	w.etag = aws.ToString(out.ETag)
	return nil
}

// Close saves the staged bytes for a later resume. Once the upload has a
// multipart upload, a tail of a valid part's size goes to it as a part
// first, which keeps the state object small. Before that, the tail (less
// than a part) stays in the state object: an upload sent in one request
// of unknown length, as docker sends a layer in one PATCH, then commits
// with one PutObject to its digest's key instead of a multipart upload, its
// completion and a copy.
// A part that failed in the background fails Close too, and nothing is
// saved: the upload stays as it was last saved, where the client resumes.
func (w *writer) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	return w.save(w.ctx)
}

// release stops holding the upload whole and gives its share of the held
// budget back.
func (w *writer) release() {
	w.hold = 0
	if w.reserved > 0 {
		w.d.held.Add(-w.reserved)
		w.reserved = 0
	}
}

// Expect is storage.Expecter: the registry announces the size the
// upload will have once the request's body is in. An upload that has no
// part yet and will fit in one object of at most maxHeld bytes is held
// whole in memory, so that Commit writes it with one PutObject straight
// to its digest's key: no multipart upload, no completion, no server-side
// copy. The PUT of a monolithic push, and the last request of a chunked
// one that never reached a part, take this path. A request that
// ends in Close instead (a PATCH) sends its full parts then, as Write
// would have. An upload is held whole only while the driver's held budget
// (Options.HeldBudget) has room for it; otherwise it sends parts as it goes.
func (w *writer) Expect(total int64) {
	if w.st.Upload != "" || w.sending != nil || total <= int64(len(w.buf)) || total > w.d.maxHeld() ||
		w.hold > 0 || !w.d.reserveHeld(total) {
		return
	}
	w.hold, w.reserved = total, total
	// Room for a part at most: a client that announces a large body and
	// sends it slowly holds no more memory than what it sent.
	w.buf = withCap(w.buf, int(min(total, w.d.partSize)))
}

func (w *writer) save(ctx context.Context) error {
	w.release()
	if err := w.sendFull(); err != nil {
		return err
	}
	if err := w.wait(); err != nil {
		return err
	}
	if len(w.buf) >= MinPartSize && w.st.Upload != "" {
		if err := w.uploadPart(ctx, w.buf); err != nil {
			return err
		}
		w.buf = w.buf[:0]
	}
	return w.putState(ctx, false)
}

// Cancel drops the upload.
func (w *writer) Cancel(ctx context.Context) error {
	if w.done {
		return errors.New("storage: cancel of a finished upload")
	}
	w.done = true
	w.release()
	_ = w.wait() // the upload goes, whatever became of its last part
	return w.d.CancelUpload(ctx, w.id)
}

// rebase truncates the upload to offset. S3 cannot shorten or read back
// the parts of a multipart upload, so they are completed into the data
// object (readable from then on), whose whole parts below offset are copied
// server-side into a new multipart upload on the same key; the bytes
// between the last whole part and offset become the tail. Only a client
// that resumes below what an earlier request saved (a request whose
// acknowledgement was lost) and OpenUpload get here, so this costs nothing
// on the common paths.
func (w *writer) rebase(ctx context.Context, offset int64) error {
	if err := w.complete(ctx); err != nil {
		return err
	}
	old, tail, oldSize := w.st.Parts, w.buf, w.partsSize
	w.st, w.partsSize, w.buf = state{}, 0, nil
	var start int64
	for _, p := range old {
		if start+p.Size > offset {
			break
		}
		if err := w.copyPart(ctx, start, p.Size); err != nil {
			return err
		}
		start += p.Size
	}
	if offset >= oldSize {
		w.buf = tail[:offset-oldSize]
	} else if offset > start {
		out, err := w.d.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: &w.d.bucket, Key: &w.dataKey,
			Range: aws.String(fmt.Sprintf("bytes=%d-%d", start, offset-1))})
		if err != nil {
			return w.d.fail(err, "upload "+w.id+": read back")
		}
		w.buf, err = io.ReadAll(io.LimitReader(out.Body, offset-start))
		out.Body.Close()
		if err == nil && int64(len(w.buf)) != offset-start {
			err = fmt.Errorf("storage: s3: upload %s: read back %d of %d bytes", w.id, len(w.buf), offset-start)
		}
		if err != nil {
			return w.d.fail(err, "upload "+w.id+": read back")
		}
	}
	// The data object stays until the new multipart upload replaces it
	// or the upload is cancelled: a crash before this save leaves the
	// old state, which resumes the same way again.
	return w.putState(ctx, false)
}

// copyPart copies size bytes at start of the data object as the next part
// of a new multipart upload on the same key.
func (w *writer) copyPart(ctx context.Context, start, size int64) error {
	if w.st.Upload == "" {
		id, err := w.d.startMultipart(ctx, w.dataKey, false)
		if err != nil {
			return err
		}
		w.st.Upload = id
	}
	n := int32(len(w.st.Parts) + 1)
	out, err := w.d.client.UploadPartCopy(ctx, &awss3.UploadPartCopyInput{Bucket: &w.d.bucket, Key: &w.dataKey,
		UploadId: &w.st.Upload, PartNumber: aws.Int32(n), CopySource: aws.String(w.d.copySource(w.dataKey)),
		CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", start, start+size-1))})
	if err != nil {
		return w.d.fail(err, fmt.Sprintf("upload %s: copy part %d", w.id, n))
	}
	w.st.Parts = append(w.st.Parts, part{N: n, Size: size, ETag: aws.ToString(out.CopyPartResult.ETag)})
	w.partsSize += size
	return nil
}

// complete finishes the multipart upload into the data object. A
// multipart upload that is gone while the data object has the size of its
// parts was completed by an earlier request that died before it saved
// the outcome: that is success too.
func (w *writer) complete(ctx context.Context) error {
	parts := make([]types.CompletedPart, len(w.st.Parts))
	for i, p := range w.st.Parts {
		parts[i] = types.CompletedPart{PartNumber: aws.Int32(p.N), ETag: aws.String(p.ETag)}
	}
	_, err := w.d.client.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: &w.d.bucket,
		Key: &w.dataKey, UploadId: &w.st.Upload, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if isNoSuchUpload(err) {
		if w.completed(ctx, w.partsSize) {
			return nil
		}
		return fmt.Errorf("storage: upload %s was cancelled: %w", w.id, storage.ErrNotFound)
	}
	if err != nil {
		return w.d.fail(err, "upload "+w.id+": complete")
	}
	return nil
}

// checkUnconditional does what the conditions of putState do, for a
// server without them, with a race between the check and the write: an
// upload that exists is not created again, and one that is gone (cancelled)
// is not brought back.
func (w *writer) checkUnconditional(ctx context.Context, create bool) error {
	head, err := w.d.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &w.d.bucket, Key: &w.key})
	switch {
	case err == nil && create:
		return fmt.Errorf("storage: create upload %s: %w", w.id, fs.ErrExist)
	case err == nil && w.etag != "" && aws.ToString(head.ETag) != w.etag:
		return fmt.Errorf("storage: upload %s was taken over by another request: %w", w.id, storage.ErrNotFound)
	case err == nil, create && isNotFound(err):
		return nil
	case isNotFound(err):
		return fmt.Errorf("storage: upload %s was cancelled: %w", w.id, storage.ErrNotFound)
	}
	return w.d.fail(err, "upload "+w.id)
}

// OpenUpload reads the staged bytes of upload id back; see
// storage.StagedReader. The registry needs it only to verify a digest of
// another algorithm than the one it hashed while receiving. The parts of
// a multipart upload cannot be read, so an upload that has parts is
// rebased first (its parts completed into the data object and copied
// server-side into a new multipart upload): the data object is then
// read, and the tail after it.
func (d *Driver) OpenUpload(ctx context.Context, id string) (io.ReadCloser, error) {
	key, err := d.stateKey(id)
	if err != nil {
		return nil, err
	}
	w := &writer{ctx: ctx, d: d, id: id, key: key, dataKey: key + ".data"}
	if err := w.load(ctx); err != nil {
		return nil, err
	}
	if len(w.st.Parts) == 0 {
		return io.NopCloser(bytes.NewReader(w.buf)), nil
	}
	if err := w.rebase(ctx, w.Size()); err != nil {
		return nil, err
	}
	out, err := d.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: &d.bucket, Key: &w.dataKey,
		Range: aws.String(fmt.Sprintf("bytes=0-%d", w.partsSize-1))})
	if err != nil {
		return nil, d.fail(err, "upload "+id+": read back")
	}
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(io.LimitReader(out.Body, w.partsSize), bytes.NewReader(w.buf)), out.Body}, nil
}

// CancelUpload removes an upload: its multipart uploads (any a request
// started before it died, too), its data object and its state. An upload
// that is already gone is not an error.
func (d *Driver) CancelUpload(ctx context.Context, id string) error {
	key, err := d.stateKey(id)
	if err != nil {
		return err
	}
	dataKey := key + ".data"
	// The state goes first: a writer still running then fails its next
	// save instead of bringing the upload back.
	if _, err := d.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &d.bucket, Key: &key}); err != nil {
		return d.fail(err, "cancel upload "+id)
	}
	pages := awss3.NewListMultipartUploadsPaginator(d.client, &awss3.ListMultipartUploadsInput{Bucket: &d.bucket, Prefix: &dataKey})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return d.fail(err, "cancel upload "+id)
		}
		for _, u := range page.Uploads {
			if aws.ToString(u.Key) != dataKey {
				continue
			}
			_, err := d.client.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: &d.bucket, Key: &dataKey, UploadId: u.UploadId})
			if err != nil && !isNoSuchUpload(err) {
				return d.fail(err, "cancel upload "+id)
			}
		}
	}
	if _, err := d.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &d.bucket, Key: &dataKey}); err != nil {
		return d.fail(err, "cancel upload "+id)
	}
	return nil
}

// UploadIDs lists the uploads that have a state object, in lexical order,
// for the commands that clean up what they staged (wharf import).
func (d *Driver) UploadIDs(ctx context.Context) ([]string, error) {
	root := d.prefix + "uploads/"
	var ids []string
	pages := awss3.NewListObjectsV2Paginator(d.client, &awss3.ListObjectsV2Input{Bucket: &d.bucket, Prefix: &root})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, d.fail(err, "list uploads")
		}
		for _, obj := range page.Contents {
			id := strings.TrimPrefix(aws.ToString(obj.Key), root)
			if storage.ValidUploadID(id) {
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}

// startMultipart starts a multipart upload on key and returns its id. Only
// a blob's own key gets the storage class: staging objects live minutes,
// and classes such as STANDARD_IA bill a month for each.
func (d *Driver) startMultipart(ctx context.Context, key string, blob bool) (string, error) {
	in := &awss3.CreateMultipartUploadInput{Bucket: &d.bucket, Key: &key}
	d.encrypt(&in.ServerSideEncryption, &in.SSEKMSKeyId)
	if blob {
		d.classify(&in.StorageClass)
	}
	out, err := d.client.CreateMultipartUpload(ctx, in)
	if err != nil {
		return "", d.fail(err, "start multipart upload of "+key)
	}
	return aws.ToString(out.UploadId), nil
}

// copySource names key of this bucket as the source of a server-side copy.
// Keys are digests and upload ids, which need no escaping.
func (d *Driver) copySource(key string) string { return d.bucket + "/" + key }

// encrypt sets the server-side encryption of a write.
func (d *Driver) encrypt(sse *types.ServerSideEncryption, kmsKey **string) {
	*sse = d.sse
	if d.kmsKeyID != "" {
		*kmsKey = aws.String(d.kmsKeyID)
	}
}

// classify sets the storage class of a write.
func (d *Driver) classify(class *types.StorageClass) { *class = d.class }
