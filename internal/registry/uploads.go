package registry

import (
	"context"
	"crypto/rand"
	"encoding"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
	"wharf/internal/storage"
)

// Upload describes an upload session as the API reports it.
type Upload struct {
	ID     string
	Repo   string
	Offset int64
}

// newUploadID returns 32 bytes of crypto randomness, URL-safe.
func newUploadID() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("registry: upload id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// StartUpload opens a new upload session in repo.
func (r *Registry) StartUpload(ctx context.Context, repo string) (Upload, error) {
	id, err := newUploadID()
	if err != nil {
		return Upload{}, err
	}
	w, err := r.blobs.Upload(ctx, id, -1)
	if err != nil {
		return Upload{}, fmt.Errorf("registry: start upload: %w", err)
	}
	if err := w.Close(); err != nil {
		return Upload{}, fmt.Errorf("registry: start upload: %w", err)
	}
	now := time.Now().UTC()
	u := &metadata.Upload{ID: id, Repo: repo, Algorithm: digest.Canonical, StartedAt: now, UpdatedAt: now}
	if err := r.meta.CreateUpload(ctx, u); err != nil {
		_ = r.blobs.CancelUpload(ctx, id)
		return Upload{}, fmt.Errorf("registry: start upload: %w", err)
	}
	return Upload{ID: id, Repo: repo}, nil
}

// UploadStatus reports how many bytes an upload session holds.
func (r *Registry) UploadStatus(ctx context.Context, repo, id string) (Upload, error) {
	u, err := r.getUpload(ctx, repo, id)
	if err != nil {
		return Upload{}, err
	}
	return Upload{ID: u.ID, Repo: u.Repo, Offset: u.Offset}, nil
}

func (r *Registry) getUpload(ctx context.Context, repo, id string) (*metadata.Upload, error) {
	u, err := r.meta.GetUpload(ctx, repo, id)
	if errors.Is(err, metadata.ErrNotFound) {
		return nil, ErrUploadUnknown
	}
	if err != nil {
		return nil, fmt.Errorf("registry: upload: %w", err)
	}
	return u, nil
}

// AppendUpload appends body to an upload session. start is the offset the
// client says the chunk begins at (from Content-Range), or -1 when it did not
// say. size is the expected chunk length, or -1 when unknown.
func (r *Registry) AppendUpload(ctx context.Context, repo, id string, start, size int64, body io.Reader) (Upload, error) {
	ctx, unlock, err := r.lockUpload(ctx, id)
	if err != nil {
		return Upload{}, err
	}
	defer unlock()
	u, err := r.getUpload(ctx, repo, id)
	if err != nil {
		return Upload{}, err
	}
	if start >= 0 && start != u.Offset {
		return Upload{ID: id, Repo: repo, Offset: u.Offset}, ErrRangeInvalid
	}
	if size >= 0 {
		if err := r.checkBlob(repo, u.Offset+size); err != nil {
			return Upload{ID: id, Repo: repo, Offset: u.Offset}, err
		}
	}
	st, err := r.receive(ctx, u, u.Algorithm, size, body, false)
	if err != nil {
		offset := u.Offset
		if st != nil {
			offset = st.offset // a stalled body's bytes were kept
		}
		return Upload{ID: id, Repo: repo, Offset: offset}, err
	}
	if err := r.meta.UpdateUpload(ctx, id, st.offset, st.state); err != nil {
		return Upload{}, fmt.Errorf("registry: upload: %w", err)
	}
	return Upload{ID: id, Repo: repo, Offset: st.offset}, nil
}

// received is the state of an upload after a request's bytes were written.
type received struct {
	w      storage.Writer // closed once receive returns, unless it kept it open
	h      hash.Hash
	offset int64
	state  []byte
}

// receive streams body into the upload's staged bytes and its running hash
// in one pass, then closes the storage writer (which makes the bytes
// durable) and returns the new offset and the marshalled hash state. With
// keepOpen (the last request of an upload) the writer stays open for the
// caller to Commit or Close, and no hash state is saved: Commit makes the
// bytes durable once, instead of Close and then Commit each syncing them.
//
// A body that stalls (its reader fails with ErrUploadStalled) keeps what
// it sent: see keepStalled. receive then returns the state it saved with
// the error.
func (r *Registry) receive(ctx context.Context, u *metadata.Upload, alg digest.Algorithm, size int64, body io.Reader, keepOpen bool) (*received, error) {
	st, err := r.openUpload(ctx, u, alg)
	if err != nil {
		return nil, err
	}
	if body != nil {
		var n int64
		var src io.Reader = clientBody{body}
		if e, ok := st.w.(storage.Expecter); ok && size >= 0 {
			e.Expect(st.offset + size)
		}
		if size >= 0 {
			// Read one byte past the announced size to detect a lying client.
			src = io.LimitReader(src, size+1)
		}
		switch {
		case size == 0:
			// The last PUT of a chunked or streamed upload: nothing to
			// copy but the byte a lying client would add, and no buffer
			// of the pool to wait for.
			var one [1]byte
			n, err = io.CopyBuffer(io.MultiWriter(st.w, st.h), src, one[:])
		case size > 0 && size <= pipelineChunk:
			// Small bodies (manifests' configs, small layers) in one pass,
			// through a buffer of their size class.
			var bufp *[]byte
			if bufp, err = r.bufs.get(ctx, size < smallBufferSize); err == nil {
				n, err = io.CopyBuffer(io.MultiWriter(st.w, st.h), src, *bufp)
				r.bufs.put(bufp)
			}
		default:
			n, err = copyHashed(ctx, r.bufs, st.w, st.h, src)
		}
		if err == nil && size >= 0 && n != size {
			err = fmt.Errorf("%w: received %d bytes, announced %d", ErrSizeInvalid, n, size)
		}
		st.offset += n
		if err != nil {
			if errors.Is(err, ErrUploadStalled) && alg == u.Algorithm {
				return r.keepStalled(ctx, u, st, err)
			}
			// Keep what was acknowledged before this request: the next
			// resume truncates the partial bytes away.
			_ = st.w.Close()
			return nil, asUploadError(err)
		}
	}
	if keepOpen {
		return st, nil
	}
	if err := st.save(); err != nil {
		return nil, err
	}
	return st, nil
}

// save marshals the hash state and closes the writer, which makes the
// staged bytes durable.
func (st *received) save() error {
	var err error
	if st.state, err = marshalHash(st.h); err != nil {
		_ = st.w.Close()
		return err
	}
	if err := st.w.Close(); err != nil {
		return fmt.Errorf("registry: upload: %w", err)
	}
	return nil
}

// keepStalled acknowledges the bytes a stalled body sent before it
// stopped, as the distribution spec allows: the client asks for the
// upload's status and resumes at its offset instead of sending everything
// again. Both copies hand back a reader's error only once every byte read
// is written and hashed, so the bytes, the offset and the hash state
// agree. An HTTP server cancels the request's context when a read fails,
// so the state is saved without it. An upload hashed with another
// algorithm than its session's (the single request of a sha512 push)
// keeps nothing, as the state saved would not resume.
func (r *Registry) keepStalled(ctx context.Context, u *metadata.Upload, st *received, stall error) (*received, error) {
	if err := st.save(); err != nil {
		return nil, err
	}
	if err := r.meta.UpdateUpload(context.WithoutCancel(ctx), u.ID, st.offset, st.state); err != nil {
		return nil, fmt.Errorf("registry: upload: %w", err)
	}
	return st, fmt.Errorf("%w; the upload holds %d bytes, resume from there", stall, st.offset)
}

// openUpload resumes the staged bytes and the running hash at the last
// acknowledged offset. A hash of another algorithm than the stored state is
// only possible on an empty upload.
func (r *Registry) openUpload(ctx context.Context, u *metadata.Upload, alg digest.Algorithm) (*received, error) {
	w, err := r.blobs.Upload(ctx, u.ID, u.Offset)
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrOffset) {
		r.log.WarnContext(ctx, "upload record without its staged bytes", "upload", u.ID, "err", err)
		return nil, ErrUploadUnknown
	}
	if err != nil {
		return nil, fmt.Errorf("registry: upload: %w", err)
	}
	h := alg.Hash()
	if len(u.HashState) > 0 && alg == u.Algorithm {
		um, ok := h.(encoding.BinaryUnmarshaler)
		if !ok {
			_ = w.Close()
			return nil, fmt.Errorf("registry: %s hash state cannot be restored", alg)
		}
		if err := um.UnmarshalBinary(u.HashState); err != nil {
			_ = w.Close()
			return nil, fmt.Errorf("registry: restore hash state: %w", err)
		}
	}
	return &received{w: w, h: h, offset: u.Offset}, nil
}

func marshalHash(h hash.Hash) ([]byte, error) {
	m, ok := h.(encoding.BinaryMarshaler)
	if !ok {
		return nil, errors.New("registry: hash state cannot be saved")
	}
	b, err := m.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("registry: save hash state: %w", err)
	}
	return b, nil
}

// asUploadError classifies an error of copying a request body into staged
// bytes. What went wrong reading the body is the client's (BLOB_UPLOAD_INVALID
// with the reason); what went wrong writing is the server's: wrapped without
// a sentinel, so that the API logs it and answers UNKNOWN, never with the
// error's text, which names the server's files.
func asUploadError(err error) error {
	if errors.Is(err, ErrSizeInvalid) || errors.Is(err, ErrUploadStalled) || errors.Is(err, ErrStorageFull) {
		return err
	}
	var be bodyError
	if errors.As(err, &be) {
		return fmt.Errorf("%w: reading the request body: %v", ErrUploadInvalid, be.err)
	}
	return fmt.Errorf("registry: writing the upload's bytes: %w", err)
}

// clientBody marks the errors of reading a request body as the client's.
type clientBody struct{ r io.Reader }

func (b clientBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = bodyError{err}
	}
	return n, err
}

// bodyError is a failure to read the request body: a client that went away,
// a body shorter than announced, a stalled one (Unwrap keeps
// ErrUploadStalled visible).
type bodyError struct{ err error }

func (e bodyError) Error() string { return e.err.Error() }
func (e bodyError) Unwrap() error { return e.err }

// FinishUpload appends body (which may be empty), verifies the content
// against dgst and publishes the blob in repo. On a digest mismatch the
// upload is discarded. It returns the blob's size, or with ErrUploadStalled
// the offset the upload resumes at.
func (r *Registry) FinishUpload(ctx context.Context, repo, id string, dgst digest.Digest, start, size int64, body io.Reader) (int64, error) {
	ctx, unlock, err := r.lockUpload(ctx, id)
	if err != nil {
		return 0, err
	}
	defer unlock()
	u, err := r.getUpload(ctx, repo, id)
	if err != nil {
		return 0, err
	}
	if start >= 0 && start != u.Offset {
		return 0, ErrRangeInvalid
	}
	if size >= 0 {
		if err := r.checkBlob(repo, u.Offset+size); err != nil {
			return 0, err
		}
	}
	alg := u.Algorithm
	if u.Offset == 0 {
		// Nothing hashed yet: hash with the algorithm the client named.
		alg = dgst.Algorithm()
	}
	st, err := r.receive(ctx, u, alg, size, body, true)
	if err != nil {
		if st != nil {
			return st.offset, err // a stalled body's bytes were kept
		}
		return 0, err
	}
	w := st.w
	got := digest.NewDigest(alg, st.h)
	if alg != dgst.Algorithm() {
		// The chunks were hashed as sha256 but the client names another
		// algorithm: one more pass over the staged bytes, which must be
		// closed (synced) first.
		if err := w.Close(); err != nil {
			return 0, fmt.Errorf("registry: finish upload: %w", err)
		}
		got, err = r.rehash(ctx, u.ID, st.offset, dgst.Algorithm())
		if err != nil {
			return 0, err
		}
		if w, err = r.blobs.Upload(ctx, id, st.offset); err != nil {
			return 0, fmt.Errorf("registry: finish upload: %w", err)
		}
	}
	if got != dgst {
		_ = w.Close()
		r.discard(ctx, id)
		return 0, fmt.Errorf("%w: content has digest %s, client named %s", ErrDigestInvalid, got, dgst)
	}
	if err := w.Commit(ctx, dgst); err != nil {
		_ = w.Close()
		return 0, fmt.Errorf("registry: commit blob: %w", err)
	}
	if err := r.meta.CommitUpload(ctx, id, repo, dgst, st.offset); err != nil {
		return 0, fmt.Errorf("registry: record blob: %w", err)
	}
	return st.offset, nil
}

// rehash computes the digest of an upload's staged bytes with another
// algorithm by reading them back through a resumed writer's file.
func (r *Registry) rehash(ctx context.Context, id string, size int64, alg digest.Algorithm) (digest.Digest, error) {
	rs, ok := r.blobs.(storage.StagedReader)
	if !ok {
		return "", fmt.Errorf("%w: chunked %s uploads need sha256 chunks on this storage", ErrDigestUnsupported, alg)
	}
	rc, err := rs.OpenUpload(ctx, id)
	if err != nil {
		return "", fmt.Errorf("registry: read staged upload: %w", err)
	}
	defer rc.Close()
	v := alg.Digester()
	if _, err := io.Copy(v.Hash(), io.LimitReader(rc, size)); err != nil {
		return "", fmt.Errorf("registry: read staged upload: %w", err)
	}
	return v.Digest(), nil
}

// CancelUpload discards an upload session.
func (r *Registry) CancelUpload(ctx context.Context, repo, id string) error {
	ctx, unlock, err := r.lockUpload(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := r.getUpload(ctx, repo, id); err != nil {
		return err
	}
	r.discard(ctx, id)
	return nil
}

func (r *Registry) discard(ctx context.Context, id string) {
	if err := r.blobs.CancelUpload(ctx, id); err != nil {
		r.log.WarnContext(ctx, "staged upload not removed", "upload", id, "err", err)
	}
	if err := r.meta.DeleteUpload(ctx, id); err != nil {
		r.log.WarnContext(ctx, "upload record not removed", "upload", id, "err", err)
	}
}
