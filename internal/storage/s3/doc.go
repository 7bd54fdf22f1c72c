// Package s3 is the blob storage Driver for Amazon S3 and the servers that
// speak its API (Ceph RGW, MinIO, R2, versitygw, GCS interoperability),
// through aws-sdk-go-v2.
//
// Layout, under an optional key prefix:
//
//	blobs/<algorithm>/<first two hex>/<hex>   a committed blob
//	uploads/<id>                              an upload's state and tail
//	uploads/<id>.data                         its multipart upload's object
//	probe/<random>                            the readiness probe's object
//
// An upload's bytes live in S3 and nowhere else between requests, so any
// replica can resume it. Full parts (at least S3's 5 MiB minimum) go to an
// S3 multipart upload as they arrive; the bytes after the last part (the
// tail, smaller than a part) are written with the part list into one state
// object when the writer closes, in one PUT, so the state a resume reads is
// always whole. A state written with If-Match on the previous one's ETag
// refuses a writer that lost its upload to another.
//
// Commit publishes an upload under its digest: an upload that never
// needed a part (a small one, or one whose whole body came in one request
// of announced length, held in memory: writer.Expect) is written straight
// to its key in one PutObject signed with the digest; otherwise the multipart
// upload is completed into uploads/<id>.data and copied server-side to the
// blob's key (S3 fixes an object's key when its multipart upload starts,
// before the digest is known), so the bytes never come back through the
// registry. A blob is visible only once its key exists, and S3 writes a key
// atomically: readers see all of it or nothing.
//
// Bodies held whole share one budget per driver (Options.HeldBudget), so
// concurrent large pushes fall back to parts instead of taking the
// process's memory.
//
// Pulls can be answered with a redirect to a presigned GET URL
// (RedirectURL), so that the bytes flow from S3 to the client, at a public
// endpoint of its own when one is set (RedirectEndpoint); proxied pulls
// read S3 through large pooled buffers (blob.go).
//
// Every connection to S3 has a connect timeout and a silence timeout that
// restarts at each byte (timeouts.go), so a server that stalls fails the
// request as unavailable instead of holding it; Diagnose checks a bucket
// step by step for `wharf doctor` (diagnose.go).
//
// This package imports storage, go-digest and the AWS SDK; never the
// registry, the configuration or a server package.
package s3
