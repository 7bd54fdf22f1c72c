package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/opencontainers/go-digest"

	"wharf/internal/storage"
)

// copyPartSize is the part size of a server-side copy of a blob larger
// than CopyObject takes.
const copyPartSize = 1 << 30

// Commit publishes the staged bytes as blob dgst and removes the upload; see
// storage.Writer. A refused digest saves the staged bytes, as Close does,
// so the upload can still be resumed.
func (w *writer) Commit(ctx context.Context, dgst digest.Digest) error {
	if w.done {
		return errors.New("storage: commit of a finished upload")
	}
	key, err := w.d.blobKey(dgst)
	if err != nil {
		if cerr := w.Close(); cerr != nil {
			return errors.Join(err, cerr)
		}
		return err
	}
	w.done = true
	defer w.release()
	if err := w.wait(); err != nil {
		return err
	}
	// The upload must still be the one this writer holds: a cancelled
	// upload is never published.
	head, err := w.d.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &w.d.bucket, Key: &w.key})
	if err != nil {
		return w.d.fail(err, "upload "+w.id)
	}
	if aws.ToString(head.ETag) != w.etag {
		return fmt.Errorf("storage: upload %s was taken over by another request: %w", w.id, storage.ErrNotFound)
	}
	_, err = w.d.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &w.d.bucket, Key: &key})
	switch {
	case err == nil:
		// Already there (a concurrent push of the same bytes): the staged
		// copy is dropped.
	case !isNotFound(err):
		return w.d.fail(err, "blob "+dgst.String())
	case len(w.st.Parts) == 0:
		// Everything is in memory: one PUT to the blob's key, no copy.
		in := &awss3.PutObjectInput{Bucket: &w.d.bucket, Key: &key, Body: bytes.NewReader(w.buf),
			ContentLength: aws.Int64(int64(len(w.buf)))}
		w.d.encrypt(&in.ServerSideEncryption, &in.SSEKMSKeyId)
		w.d.classify(&in.StorageClass)
		if _, err := w.d.client.PutObject(ctx, in, signedAs(dgst)); err != nil {
			return w.d.fail(err, "commit blob "+dgst.String())
		}
	default:
		if err := w.finish(ctx); err != nil {
			return err
		}
		if err := w.d.copyObject(ctx, w.dataKey, key, w.partsSize); err != nil {
			return fmt.Errorf("%w (commit blob %s)", err, dgst)
		}
	}
	return w.drop(ctx)
}

// drop removes a committed upload: its state, and its data object when it
// had a multipart upload. The state recorded every multipart upload the
// moment it started, so an upload without one leaves nothing else (a
// small blob's commit costs one DELETE, not CancelUpload's three requests).
func (w *writer) drop(ctx context.Context) error {
	if w.st.Upload != "" {
		return w.d.CancelUpload(ctx, w.id)
	}
	if _, err := w.d.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &w.d.bucket, Key: &w.key}); err != nil {
		return w.d.fail(err, "remove upload "+w.id)
	}
	return nil
}

// finish sends the tail as the last part (which may be of any size) and
// completes the multipart upload into the data object. A commit that died
// after completing it leaves a state whose multipart upload S3 no longer
// has, and a data object of the upload's whole size: the retry carries on
// from that object.
func (w *writer) finish(ctx context.Context) error {
	if len(w.buf) > 0 {
		err := w.uploadPart(ctx, w.buf)
		if errors.Is(err, storage.ErrNotFound) && w.completed(ctx, w.Size()) {
			w.partsSize, w.buf, w.err = w.Size(), nil, nil
			return nil
		}
		if err != nil {
			return err
		}
		w.buf = nil
	}
	return w.complete(ctx)
}

// completed reports whether the data object exists with size bytes.
func (w *writer) completed(ctx context.Context, size int64) bool {
	head, err := w.d.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &w.d.bucket, Key: &w.dataKey})
	return err == nil && aws.ToInt64(head.ContentLength) == size
}

// copyObject copies src to dst server-side: the bytes do not pass through
// the registry. S3 copies up to 5 GiB in one request, larger objects part
// by part.
func (d *Driver) copyObject(ctx context.Context, src, dst string, size int64) error {
	if size <= maxCopySize {
		in := &awss3.CopyObjectInput{Bucket: &d.bucket, Key: &dst, CopySource: aws.String(d.copySource(src))}
		d.encrypt(&in.ServerSideEncryption, &in.SSEKMSKeyId)
		d.classify(&in.StorageClass)
		if _, err := d.client.CopyObject(ctx, in); err != nil {
			return d.fail(err, "copy "+src+" to "+dst)
		}
		return nil
	}
	id, err := d.startMultipart(ctx, dst, true)
	if err != nil {
		return err
	}
	var parts []types.CompletedPart
	for start, n := int64(0), int32(1); start < size; start, n = start+copyPartSize, n+1 {
		end := min(start+copyPartSize, size) - 1
		out, err := d.client.UploadPartCopy(ctx, &awss3.UploadPartCopyInput{Bucket: &d.bucket, Key: &dst,
			UploadId: &id, PartNumber: aws.Int32(n), CopySource: aws.String(d.copySource(src)),
			CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", start, end))})
		if err != nil {
			d.abort(ctx, dst, id)
			return d.fail(err, "copy "+src+" to "+dst)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.CopyPartResult.ETag})
	}
	_, err = d.client.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: &d.bucket, Key: &dst,
		UploadId: &id, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		d.abort(ctx, dst, id)
		return d.fail(err, "copy "+src+" to "+dst)
	}
	return nil
}

// abort drops a multipart upload after a failure; an abort that fails too
// leaves parts that S3's lifecycle rule for incomplete uploads removes.
func (d *Driver) abort(ctx context.Context, key, id string) {
	if _, err := d.client.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: &d.bucket, Key: &key, UploadId: &id}); err != nil {
		d.log.WarnContext(ctx, "a multipart copy could not be aborted; its parts stay until the bucket's lifecycle rule removes them",
			"key", key, "err", err)
	}
}

// signedAs signs a PUT of blob dgst's bytes with its digest as the payload
// hash (x-amz-content-sha256) when the digest is a sha256: the SDK then
// does not read the bytes once more to hash them, and S3 hashes what it
// receives and refuses a body that does not match (XAmzContentSHA256Mismatch)
// before the key exists, so the blob is stored only as the registry
// verified it. Every server that checks SigV4 signatures checks that
// header; the newer x-amz-checksum-sha256 is not sent, as not every
// S3-compatible server knows it. Other algorithms leave the SDK to hash
// the body.
func signedAs(dgst digest.Digest) func(*awss3.Options) {
	return func(o *awss3.Options) {
		if dgst.Algorithm() != digest.SHA256 {
			return
		}
		hash := dgst.Encoded()
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			if _, ok := stack.Finalize.Get("ComputePayloadHash"); !ok {
				return nil // an SDK that signs otherwise: it hashes as it sees fit
			}
			return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("wharfPayloadHash",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					return next.HandleFinalize(v4.SetPayloadHash(ctx, hash), in)
				}), "ComputePayloadHash", middleware.Before)
		})
	}
}
