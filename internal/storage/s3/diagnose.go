package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Step is one step of Diagnose: what it checked, and when it failed, why
// and what to change. Warn marks a finding that does not stop the store
// from working.
type Step struct {
	Name   string
	OK     bool
	Warn   bool
	Detail string
	Fix    string
}

// maxSkew is how far S3 lets a request's signature time drift from its
// own clock before refusing it (RequestTimeTooSkewed).
const maxSkew = 15 * time.Minute

// Diagnose runs, one attempt each, what the registry will ask of the
// bucket, and stops at the first step that fails: the bucket answers
// (HeadBucket: reachable, credentials accepted, bucket present), the
// clocks agree, a probe object is written, read back whole and deleted,
// and a presigned URL of it serves its bytes to a plain HTTP client (when
// pulls are redirected). It writes one small object under probe/ and
// removes it.
func (d *Driver) Diagnose(ctx context.Context) []Step {
	var steps []Step
	add := func(s Step) bool {
		steps = append(steps, s)
		return s.OK
	}
	where := d.describe()
	out, err := d.client.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: &d.bucket}, d.noRetry)
	date := responseDate(out, err)
	if err != nil {
		detail := d.fail(err, "head bucket").Error()
		if isNotFound(err) {
			// A HEAD's 404 has no body to say more.
			detail = fmt.Sprintf("%s: S3 answers 404: the bucket %q does not exist", where, d.bucket)
		}
		add(Step{Name: "bucket", Detail: detail, Fix: d.fixFor(err)})
		return steps
	}
	add(Step{Name: "bucket", OK: true, Detail: where + " answers and accepts the credentials"})

	switch skew := time.Since(date).Round(time.Second); {
	case date.IsZero():
		add(Step{Name: "clock", OK: true, Warn: true, Detail: "S3's answer has no Date header: the clock could not be compared",
			Fix: "keep this host's clock in sync (NTP): S3 refuses signatures more than 15 minutes off"})
	case skew > maxSkew || skew < -maxSkew:
		add(Step{Name: "clock", Detail: fmt.Sprintf("this host's clock is %v off S3's", skew),
			Fix: "sync this host's clock (NTP): S3 refuses signatures more than 15 minutes off"})
		return steps
	case skew > time.Minute || skew < -time.Minute:
		add(Step{Name: "clock", OK: true, Warn: true, Detail: fmt.Sprintf("this host's clock is %v off S3's", skew),
			Fix: "sync this host's clock (NTP) before it drifts past S3's 15 minutes"})
	default:
		add(Step{Name: "clock", OK: true, Detail: fmt.Sprintf("within %v of S3's", max(skew, -skew, time.Second))})
	}

	key := d.prefix + "probe/doctor-" + rand.Text()
	body := []byte("wharf doctor " + rand.Text() + "\n")
	if !add(d.roundTrip(ctx, key, body)) {
		return steps
	}
	defer func() {
		// The object goes whatever the presign step found.
		_, _ = d.client.DeleteObject(context.WithoutCancel(ctx), &awss3.DeleteObjectInput{Bucket: &d.bucket, Key: &key}, d.noRetry)
	}()
	if d.redirect <= 0 {
		add(Step{Name: "presigned URL", OK: true, Detail: "skipped: pulls are not redirected (storage.redirect.disable)"})
	} else {
		add(d.presignStep(ctx, key, body))
	}
	if _, err := d.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &d.bucket, Key: &key}, d.noRetry); err != nil {
		add(Step{Name: "delete", Detail: d.fail(err, "delete probe").Error(),
			Fix: "allow s3:DeleteObject on the bucket's prefix: garbage collection and failed uploads need it"})
		return steps
	}
	add(Step{Name: "delete", OK: true, Detail: "the probe object was deleted"})
	return steps
}

// roundTrip writes body under key and reads it back.
func (d *Driver) roundTrip(ctx context.Context, key string, body []byte) Step {
	const name = "write and read"
	if _, err := d.client.PutObject(ctx, &awss3.PutObjectInput{Bucket: &d.bucket, Key: &key, Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))), ServerSideEncryption: d.sse, SSEKMSKeyId: d.kmsKeyIDOrNil(),
		StorageClass: d.class}, d.noRetry); err != nil {
		return Step{Name: name, Detail: d.fail(err, "write probe").Error(), Fix: d.fixFor(err) +
			"; with encrypt or storageclass set, check that the server supports them"}
	}
	got, err := d.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: &d.bucket, Key: &key}, d.noRetry)
	if err != nil {
		return Step{Name: name, Detail: d.fail(err, "read probe").Error(), Fix: d.fixFor(err)}
	}
	defer got.Body.Close()
	read, err := io.ReadAll(io.LimitReader(got.Body, 1<<20))
	if err != nil || !bytes.Equal(read, body) {
		return Step{Name: name, Detail: fmt.Sprintf("the probe read back as %d bytes (%v), %d written", len(read), err, len(body)),
			Fix: "a proxy or gateway in front of S3 changes objects: point regionendpoint at S3 itself"}
	}
	return Step{Name: name, OK: true, Detail: fmt.Sprintf("a %d-byte probe object was written and read back", len(body))}
}

// presignStep fetches key through a presigned URL with a client that holds
// no credentials, as a docker client following a redirect would.
func (d *Driver) presignStep(ctx context.Context, key string, body []byte) Step {
	const name = "presigned URL"
	req, err := d.presign.PresignGetObject(ctx, &awss3.GetObjectInput{Bucket: &d.bucket, Key: &key}, awss3.WithPresignExpires(time.Minute))
	if err != nil {
		return Step{Name: name, Detail: "presign: " + err.Error(), Fix: "check the credentials' source: presigning needs an access key"}
	}
	host := req.URL
	if i := strings.Index(host, "?"); i >= 0 {
		host = host[:i] // the query holds the signature
	}
	fix := "clients follow this URL to pull: the address (redirectendpoint, else regionendpoint) must reach this S3 server and pass " +
		"the Host header through; or set storage.redirect.disable: true to serve pulls through wharf"
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, req.URL, nil)
	if err != nil {
		return Step{Name: name, Detail: "presigned URL " + host + ": " + err.Error(), Fix: fix}
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(hreq)
	if err != nil {
		// url.Error's text holds the URL, signature included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Step{Name: name, Detail: "GET " + host + ": " + err.Error(), Fix: fix}
	}
	defer resp.Body.Close()
	read, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK || !bytes.Equal(read, body) {
		return Step{Name: name, Detail: fmt.Sprintf("GET %s answered %s with %d bytes, not the probe's %d", host, resp.Status, len(read), len(body)), Fix: fix}
	}
	return Step{Name: name, OK: true, Detail: "a presigned GET of " + host + " served the probe"}
}

// fixFor names what to change for an error of S3's.
func (d *Driver) fixFor(err error) string {
	code, status := apiCode(err), httpStatus(err)
	switch {
	case isTransport(err):
		return "check storage.s3.regionendpoint (and secure), that S3 runs, and that this host can reach it"
	case code == "NoSuchBucket" || (status == http.StatusNotFound && code != "NoSuchKey"):
		return fmt.Sprintf("create the bucket %q, or correct storage.s3.bucket", d.bucket)
	case code == "RequestTimeTooSkewed":
		return "sync this host's clock (NTP): S3 refuses signatures more than 15 minutes off"
	case code == "InvalidAccessKeyId", code == "SignatureDoesNotMatch", code == "AccessDenied", code == "Forbidden",
		status == http.StatusForbidden, status == http.StatusUnauthorized:
		return "S3 refuses the credentials: check storage.s3.accesskey and secretkey, or the AWS credential chain " +
			"(AWS_ACCESS_KEY_ID, AWS_PROFILE, the instance role), and that the bucket policy allows ListBucket, GetObject, PutObject and DeleteObject"
	case code == "PermanentRedirect", code == "AuthorizationHeaderMalformed", code == "IllegalLocationConstraintException":
		return "the bucket is in another region: set storage.s3.region to it"
	}
	return "see S3's error above"
}

func (d *Driver) kmsKeyIDOrNil() *string {
	if d.kmsKeyID == "" {
		return nil
	}
	return &d.kmsKeyID
}

// responseDate is the Date of S3's answer, from a result or an error;
// zero when there was no answer or it had none.
func responseDate(out *awss3.HeadBucketOutput, err error) time.Time {
	var raw *smithyhttp.Response
	if out != nil {
		raw, _ = awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response)
	}
	var re *smithyhttp.ResponseError
	if raw == nil && errors.As(err, &re) {
		raw = re.Response
	}
	if raw == nil {
		return time.Time{}
	}
	t, perr := http.ParseTime(raw.Header.Get("Date"))
	if perr != nil {
		return time.Time{}
	}
	return t
}
