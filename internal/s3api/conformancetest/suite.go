package conformancetest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// Target is the endpoint under test.
type Target struct {
	Endpoint        string // http://host:port, path-style
	AccessKeyID     string
	SecretAccessKey string
	Region          string
}

// env is what a case gets: a client, its own fresh bucket, raw HTTP.
type env struct {
	t      Target
	c      *s3.Client
	bucket string
}

// Case is one documented behaviour.
type Case struct {
	Name string
	Run  func(ctx context.Context, e *env) error
}

func (tg Target) client() *s3.Client {
	region := tg.Region
	if region == "" {
		region = "us-east-1"
	}
	return s3.New(s3.Options{
		Region: region, BaseEndpoint: aws.String(tg.Endpoint), UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: tg.AccessKeyID, SecretAccessKey: tg.SecretAccessKey}, nil
		}),
	})
}

// Run runs every case against tg, each as a subtest, and returns how many
// passed and failed.
func Run(t *testing.T, tg Target) (passed, failed int) {
	t.Helper()
	c := tg.client()
	for _, tc := range Cases() {
		ok := t.Run(tc.Name, func(t *testing.T) {
			ctx := t.Context()
			e := &env{t: tg, c: c, bucket: "conf-" + strings.ToLower(rand.Text()[:12])}
			if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(e.bucket)}); err != nil {
				t.Fatalf("create bucket: %v", err)
			}
			t.Cleanup(func() { e.empty(context.Background()) })
			if err := tc.Run(ctx, e); err != nil {
				t.Error(err)
			}
		})
		if ok {
			passed++
		} else {
			failed++
		}
	}
	t.Logf("s3 conformance against %s: %d passed, %d failed", tg.Endpoint, passed, failed)
	return passed, failed
}

// empty deletes the case's bucket and everything in it.
func (e *env) empty(ctx context.Context) {
	if ups, err := e.c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(e.bucket)}); err == nil {
		for _, u := range ups.Uploads {
			_, _ = e.c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(e.bucket), Key: u.Key, UploadId: u.UploadId})
		}
	}
	p := s3.NewListObjectsV2Paginator(e.c, &s3.ListObjectsV2Input{Bucket: aws.String(e.bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			break
		}
		for _, o := range page.Contents {
			_, _ = e.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(e.bucket), Key: o.Key})
		}
	}
	_, _ = e.c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(e.bucket)})
}

func (e *env) put(ctx context.Context, key, body string, edit ...func(*s3.PutObjectInput)) (*s3.PutObjectOutput, error) {
	in := &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(key), Body: strings.NewReader(body)}
	for _, f := range edit {
		f(in)
	}
	return e.c.PutObject(ctx, in)
}

func (e *env) get(ctx context.Context, key string, edit ...func(*s3.GetObjectInput)) (string, *s3.GetObjectOutput, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(key)}
	for _, f := range edit {
		f(in)
	}
	out, err := e.c.GetObject(ctx, in)
	if err != nil {
		return "", nil, err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), out, err
}

// code checks that err is the S3 error code with the HTTP status.
func code(err error, wantCode string, wantStatus int) error {
	if err == nil {
		return fmt.Errorf("succeeded; want %s %d", wantCode, wantStatus)
	}
	var ae smithy.APIError
	got := ""
	if errors.As(err, &ae) {
		got = ae.ErrorCode()
	}
	var re interface{ HTTPStatusCode() int }
	status := 0
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	if (wantCode != "" && got != wantCode) || status != wantStatus {
		return fmt.Errorf("got %s %d (%w); want %s %d", got, status, err, wantCode, wantStatus)
	}
	return nil
}

func expect(ok bool, format string, args ...any) error {
	if !ok {
		return fmt.Errorf(format, args...)
	}
	return nil
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return `"` + hex.EncodeToString(h[:]) + `"`
}

// multipartObject uploads parts and completes them; it returns the
// upload ID and the completion.
func (e *env) multipartObject(ctx context.Context, key string, parts []string, edit func(*s3.CreateMultipartUploadInput)) (string, *s3.CompleteMultipartUploadOutput, error) {
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String(e.bucket), Key: aws.String(key)}
	if edit != nil {
		edit(in)
	}
	cu, err := e.c.CreateMultipartUpload(ctx, in)
	if err != nil {
		return "", nil, err
	}
	var done []types.CompletedPart
	for i, p := range parts {
		up, err := e.c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(e.bucket), Key: aws.String(key), UploadId: cu.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: strings.NewReader(p), ChecksumAlgorithm: in.ChecksumAlgorithm})
		if err != nil {
			return "", nil, err
		}
		done = append(done, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: up.ETag, ChecksumCRC32: up.ChecksumCRC32, ChecksumSHA256: up.ChecksumSHA256})
	}
	out, err := e.c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(e.bucket), Key: aws.String(key), UploadId: cu.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
	return aws.ToString(cu.UploadId), out, err
}

// raw sends a request signed with SigV4 by the SDK's presigner (as a
// presigned URL) or unsigned, and returns status and body.
func (e *env) rawGet(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

var big = strings.Repeat("m", 5<<20)

// Cases is the suite, in the order of the S3 API reference's sections.
func Cases() []Case {
	return []Case{
		// Objects.
		{"PutGetRoundTrip", func(ctx context.Context, e *env) error {
			out, err := e.put(ctx, "a/b c+d.txt", "hello", func(in *s3.PutObjectInput) { in.ContentType = aws.String("text/plain") })
			if err != nil {
				return err
			}
			got, g, err := e.get(ctx, "a/b c+d.txt")
			if err != nil {
				return err
			}
			return expect(got == "hello" && aws.ToString(out.ETag) == md5hex("hello") && aws.ToString(g.ContentType) == "text/plain" && aws.ToInt64(g.ContentLength) == 5,
				"got %q etag %s type %s", got, aws.ToString(out.ETag), aws.ToString(g.ContentType))
		}},
		{"EmptyObject", func(ctx context.Context, e *env) error {
			if _, err := e.put(ctx, "empty", ""); err != nil {
				return err
			}
			got, g, err := e.get(ctx, "empty")
			return errors.Join(err, expect(got == "" && aws.ToString(g.ETag) == md5hex(""), "got %q", got))
		}},
		{"UserMetadata", func(ctx context.Context, e *env) error {
			if _, err := e.put(ctx, "m", "x", func(in *s3.PutObjectInput) { in.Metadata = map[string]string{"colour": "blue", "two-words": "a b"} }); err != nil {
				return err
			}
			h, err := e.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("m")})
			return errors.Join(err, expect(h != nil && h.Metadata["colour"] == "blue" && h.Metadata["two-words"] == "a b", "metadata %v", h))
		}},
		{"ContentHeaders", func(ctx context.Context, e *env) error {
			if _, err := e.put(ctx, "h", "x", func(in *s3.PutObjectInput) {
				in.CacheControl, in.ContentDisposition, in.ContentLanguage = aws.String("max-age=60"), aws.String("attachment"), aws.String("en")
				in.ContentEncoding, in.Expires = aws.String("identity"), aws.Time(time.Date(2037, 1, 2, 3, 4, 5, 0, time.UTC))
			}); err != nil {
				return err
			}
			h, err := e.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("h")})
			if err != nil {
				return err
			}
			return expect(aws.ToString(h.CacheControl) == "max-age=60" && aws.ToString(h.ContentDisposition) == "attachment" &&
				aws.ToString(h.ContentLanguage) == "en" && aws.ToString(h.ContentEncoding) == "identity" && aws.ToString(h.ExpiresString) == "Fri, 02 Jan 2037 03:04:05 GMT",
				"headers %q %q %q %q %q", aws.ToString(h.CacheControl), aws.ToString(h.ContentDisposition), aws.ToString(h.ContentLanguage), aws.ToString(h.ContentEncoding), aws.ToString(h.ExpiresString))
		}},
		{"ContentMD5Mismatch", func(ctx context.Context, e *env) error {
			sum := md5.Sum([]byte("other"))
			_, err := e.put(ctx, "k", "body", func(in *s3.PutObjectInput) { in.ContentMD5 = aws.String(base64.StdEncoding.EncodeToString(sum[:])) })
			return code(err, "BadDigest", 400)
		}},
		{"ChecksumReturned", func(ctx context.Context, e *env) error {
			sum := sha256.Sum256([]byte("sum"))
			want := base64.StdEncoding.EncodeToString(sum[:])
			p, err := e.put(ctx, "c", "sum", func(in *s3.PutObjectInput) { in.ChecksumAlgorithm = types.ChecksumAlgorithmSha256 })
			if err != nil {
				return err
			}
			h, err := e.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("c"), ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				return err
			}
			return expect(aws.ToString(p.ChecksumSHA256) == want && aws.ToString(h.ChecksumSHA256) == want, "put %q head %q want %q", aws.ToString(p.ChecksumSHA256), aws.ToString(h.ChecksumSHA256), want)
		}},
		{"ChecksumMismatch", func(ctx context.Context, e *env) error {
			_, err := e.put(ctx, "c", "sum", func(in *s3.PutObjectInput) { in.ChecksumCRC32 = aws.String("AAAAAA==") })
			return code(err, "BadDigest", 400)
		}},
		{"GetMissingKey", func(ctx context.Context, e *env) error {
			_, _, err := e.get(ctx, "missing")
			return code(err, "NoSuchKey", 404)
		}},
		{"HeadMissingKey", func(ctx context.Context, e *env) error {
			_, err := e.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("missing")})
			return code(err, "", 404)
		}},
		{"GetMissingBucket", func(ctx context.Context, e *env) error {
			_, err := e.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e.bucket + "-nope"), Key: aws.String("k")})
			return code(err, "NoSuchBucket", 404)
		}},
		{"DeleteMissingKeyIs204", func(ctx context.Context, e *env) error {
			_, err := e.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("missing")})
			return err
		}},
		{"DeleteObjects", func(ctx context.Context, e *env) error {
			for _, k := range []string{"d1", "d2"} {
				if _, err := e.put(ctx, k, k); err != nil {
					return err
				}
			}
			out, err := e.c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(e.bucket), Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("d1")}, {Key: aws.String("d2")}, {Key: aws.String("d3")}}}})
			if err != nil {
				return err
			}
			l, err := e.c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(e.bucket)})
			return errors.Join(err, expect(len(out.Deleted) == 3 && len(out.Errors) == 0 && len(l.Contents) == 0, "deleted %d errors %d left %d", len(out.Deleted), len(out.Errors), len(l.Contents)))
		}},
		{"CopyObject", func(ctx context.Context, e *env) error {
			if _, err := e.put(ctx, "src", "copied", func(in *s3.PutObjectInput) { in.Metadata = map[string]string{"a": "1"} }); err != nil {
				return err
			}
			if _, err := e.c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("dst"), CopySource: aws.String(e.bucket + "/src")}); err != nil {
				return err
			}
			got, g, err := e.get(ctx, "dst")
			return errors.Join(err, expect(got == "copied" && g.Metadata["a"] == "1", "copy %q %v", got, g))
		}},
		{"CopyObjectReplaceMetadata", func(ctx context.Context, e *env) error {
			if _, err := e.put(ctx, "src", "x", func(in *s3.PutObjectInput) { in.Metadata = map[string]string{"a": "1"} }); err != nil {
				return err
			}
			if _, err := e.c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("src"), CopySource: aws.String(e.bucket + "/src"),
				MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"b": "2"}}); err != nil {
				return err
			}
			h, err := e.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("src")})
			return errors.Join(err, expect(h != nil && h.Metadata["b"] == "2" && h.Metadata["a"] == "", "metadata %v", h))
		}},
		{"CopyOntoItselfRefused", func(ctx context.Context, e *env) error {
			if _, err := e.put(ctx, "src", "x"); err != nil {
				return err
			}
			_, err := e.c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("src"), CopySource: aws.String(e.bucket + "/src")})
			return code(err, "InvalidRequest", 400)
		}},
		{"CopySourceIfMatch", func(ctx context.Context, e *env) error {
			if _, err := e.put(ctx, "src", "x"); err != nil {
				return err
			}
			_, err := e.c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("dst"), CopySource: aws.String(e.bucket + "/src"), CopySourceIfMatch: aws.String(`"bogus"`)})
			return code(err, "PreconditionFailed", 412)
		}},
		// Listings.
		{"ListV2PrefixDelimiter", func(ctx context.Context, e *env) error {
			for _, k := range []string{"a/1", "a/2", "a/b/3", "b", "c/4"} {
				if _, err := e.put(ctx, k, k); err != nil {
					return err
				}
			}
			out, err := e.c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(e.bucket), Delimiter: aws.String("/")})
			if err != nil {
				return err
			}
			var keys, prefixes []string
			for _, o := range out.Contents {
				keys = append(keys, aws.ToString(o.Key))
			}
			for _, p := range out.CommonPrefixes {
				prefixes = append(prefixes, aws.ToString(p.Prefix))
			}
			return expect(strings.Join(keys, ",") == "b" && strings.Join(prefixes, ",") == "a/,c/" && aws.ToInt32(out.KeyCount) == 3, "keys %v prefixes %v", keys, prefixes)
		}},
		{"ListV2Paging", func(ctx context.Context, e *env) error {
			for i := range 7 {
				if _, err := e.put(ctx, fmt.Sprintf("p%d", i), "x"); err != nil {
					return err
				}
			}
			var got []string
			p := s3.NewListObjectsV2Paginator(e.c, &s3.ListObjectsV2Input{Bucket: aws.String(e.bucket), MaxKeys: aws.Int32(3)})
			pages := 0
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return err
				}
				pages++
				for _, o := range page.Contents {
					got = append(got, aws.ToString(o.Key))
				}
			}
			return expect(len(got) == 7 && pages == 3, "%d keys in %d pages", len(got), pages)
		}},
		{"ListV2StartAfter", func(ctx context.Context, e *env) error {
			for _, k := range []string{"a", "b", "c"} {
				if _, err := e.put(ctx, k, k); err != nil {
					return err
				}
			}
			out, err := e.c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(e.bucket), StartAfter: aws.String("a")})
			return errors.Join(err, expect(out != nil && len(out.Contents) == 2 && aws.ToString(out.Contents[0].Key) == "b", "listing %v", out))
		}},
		{"ListV2EncodingURL", func(ctx context.Context, e *env) error {
			if _, err := e.put(ctx, "sp ace+plus", "x"); err != nil {
				return err
			}
			out, err := e.c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(e.bucket), EncodingType: types.EncodingTypeUrl})
			if err != nil || len(out.Contents) != 1 {
				return fmt.Errorf("listing %v, %w", out, err)
			}
			// Decoded as botocore does (unquote_plus).
			k := aws.ToString(out.Contents[0].Key)
			dec, err := url.QueryUnescape(k)
			return errors.Join(err, expect(dec == "sp ace+plus" && k != dec, "key %q decodes to %q", k, dec))
		}},
		{"ListV1Marker", func(ctx context.Context, e *env) error {
			for _, k := range []string{"a", "b", "c"} {
				if _, err := e.put(ctx, k, k); err != nil {
					return err
				}
			}
			out, err := e.c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String(e.bucket), Marker: aws.String("b")})
			return errors.Join(err, expect(out != nil && len(out.Contents) == 1 && aws.ToString(out.Contents[0].Key) == "c", "listing %v", out))
		}},
		{"ListMissingBucket", func(ctx context.Context, e *env) error {
			_, err := e.c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(e.bucket + "-nope")})
			return code(err, "NoSuchBucket", 404)
		}},
		{"ListObjectVersionsUnversioned", func(ctx context.Context, e *env) error {
			if _, err := e.put(ctx, "v", "x"); err != nil {
				return err
			}
			out, err := e.c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(e.bucket)})
			return errors.Join(err, expect(out != nil && len(out.Versions) == 1 && aws.ToString(out.Versions[0].VersionId) == "null" && aws.ToBool(out.Versions[0].IsLatest), "versions %+v", out))
		}},
		{"GetBucketVersioningEmpty", func(ctx context.Context, e *env) error {
			out, err := e.c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(e.bucket)})
			return errors.Join(err, expect(out != nil && out.Status == "", "status %v", out))
		}},
		// Ranges.
		{"RangeForms", func(ctx context.Context, e *env) error {
			if _, err := e.put(ctx, "r", "0123456789"); err != nil {
				return err
			}
			for rng, want := range map[string]string{"bytes=2-4": "234", "bytes=7-": "789", "bytes=-3": "789", "bytes=8-100": "89"} {
				got, g, err := e.get(ctx, "r", func(in *s3.GetObjectInput) { in.Range = aws.String(rng) })
				if err != nil {
					return fmt.Errorf("%s: %w", rng, err)
				}
				if got != want || !strings.HasSuffix(aws.ToString(g.ContentRange), "/10") {
					return fmt.Errorf("%s: got %q range %q", rng, got, aws.ToString(g.ContentRange))
				}
			}
			return nil
		}},
		{"RangeNotSatisfiable", func(ctx context.Context, e *env) error {
			if _, err := e.put(ctx, "r", "0123456789"); err != nil {
				return err
			}
			_, _, err := e.get(ctx, "r", func(in *s3.GetObjectInput) { in.Range = aws.String("bytes=10-20") })
			return code(err, "InvalidRange", 416)
		}},
		// Conditionals.
		{"GetIfNoneMatch304", func(ctx context.Context, e *env) error {
			p, err := e.put(ctx, "c", "x")
			if err != nil {
				return err
			}
			_, _, err = e.get(ctx, "c", func(in *s3.GetObjectInput) { in.IfNoneMatch = p.ETag })
			return code(err, "", 304)
		}},
		{"GetIfMatch412", func(ctx context.Context, e *env) error {
			if _, err := e.put(ctx, "c", "x"); err != nil {
				return err
			}
			_, _, err := e.get(ctx, "c", func(in *s3.GetObjectInput) { in.IfMatch = aws.String(`"bogus"`) })
			return code(err, "PreconditionFailed", 412)
		}},
		{"GetIfUnmodifiedSince412", func(ctx context.Context, e *env) error {
			if _, err := e.put(ctx, "c", "x"); err != nil {
				return err
			}
			_, _, err := e.get(ctx, "c", func(in *s3.GetObjectInput) { in.IfUnmodifiedSince = aws.Time(time.Now().Add(-24 * time.Hour)) })
			return code(err, "PreconditionFailed", 412)
		}},
		{"PutIfNoneMatchExisting412", func(ctx context.Context, e *env) error {
			if _, err := e.put(ctx, "c", "first"); err != nil {
				return err
			}
			_, err := e.put(ctx, "c", "second", func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String("*") })
			got, _, gerr := e.get(ctx, "c")
			return errors.Join(code(err, "PreconditionFailed", 412), gerr, expect(got == "first", "object overwritten: %q", got))
		}},
		{"PutIfMatchWrong412", func(ctx context.Context, e *env) error {
			if _, err := e.put(ctx, "c", "first"); err != nil {
				return err
			}
			_, err := e.put(ctx, "c", "second", func(in *s3.PutObjectInput) { in.IfMatch = aws.String(`"bogus"`) })
			return code(err, "PreconditionFailed", 412)
		}},
		{"PutIfMatchMissing404", func(ctx context.Context, e *env) error {
			_, err := e.put(ctx, "c", "x", func(in *s3.PutObjectInput) { in.IfMatch = aws.String(md5hex("x")) })
			return code(err, "NoSuchKey", 404)
		}},
		{"PutIfMatchRight", func(ctx context.Context, e *env) error {
			p, err := e.put(ctx, "c", "first")
			if err != nil {
				return err
			}
			_, err = e.put(ctx, "c", "second", func(in *s3.PutObjectInput) { in.IfMatch = p.ETag })
			return err
		}},
		{"PutIfNoneMatchRace", func(ctx context.Context, e *env) error {
			for i := range 20 {
				key := fmt.Sprintf("race-%d", i)
				var wg sync.WaitGroup
				errs := make([]error, 2)
				for w := range 2 {
					wg.Go(func() {
						_, errs[w] = e.put(ctx, key, fmt.Sprint("writer ", w), func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String("*") })
					})
				}
				wg.Wait()
				if (errs[0] == nil) == (errs[1] == nil) {
					return fmt.Errorf("round %d: errors %v; want exactly one success", i, errs)
				}
				loser := errs[0]
				if loser == nil {
					loser = errs[1]
				}
				if err := code(loser, "", 412); err != nil && code(loser, "", 409) != nil {
					return fmt.Errorf("round %d: loser: %w", i, err)
				}
			}
			return nil
		}},
		{"CopyIfNoneMatchTarget412", func(ctx context.Context, e *env) error {
			for _, k := range []string{"src", "dst"} {
				if _, err := e.put(ctx, k, k); err != nil {
					return err
				}
			}
			_, err := e.c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("dst"), CopySource: aws.String(e.bucket + "/src"), IfNoneMatch: aws.String("*")})
			return code(err, "PreconditionFailed", 412)
		}},
		// Multipart.
		{"MultipartRoundTrip", func(ctx context.Context, e *env) error {
			_, out, err := e.multipartObject(ctx, "mp", []string{big, "tail"}, nil)
			if err != nil {
				return err
			}
			got, _, err := e.get(ctx, "mp")
			return errors.Join(err, expect(got == big+"tail" && strings.HasSuffix(strings.Trim(aws.ToString(out.ETag), `"`), "-2"), "etag %s, %d bytes", aws.ToString(out.ETag), len(got)))
		}},
		{"MultipartPartNumberRead", func(ctx context.Context, e *env) error {
			if _, _, err := e.multipartObject(ctx, "mp", []string{big, "tail"}, nil); err != nil {
				return err
			}
			got, g, err := e.get(ctx, "mp", func(in *s3.GetObjectInput) { in.PartNumber = aws.Int32(2) })
			if err != nil {
				return err
			}
			return expect(got == "tail" && aws.ToInt32(g.PartsCount) == 2 && aws.ToString(g.ContentRange) == fmt.Sprintf("bytes %d-%d/%d", len(big), len(big)+3, len(big)+4),
				"part 2 = %q, parts %d, range %q", got, aws.ToInt32(g.PartsCount), aws.ToString(g.ContentRange))
		}},
		{"MultipartPartNumberPastEnd416", func(ctx context.Context, e *env) error {
			if _, _, err := e.multipartObject(ctx, "mp", []string{"only"}, nil); err != nil {
				return err
			}
			_, _, err := e.get(ctx, "mp", func(in *s3.GetObjectInput) { in.PartNumber = aws.Int32(2) })
			return code(err, "InvalidPartNumber", 416)
		}},
		{"MultipartCompleteTwice", func(ctx context.Context, e *env) error {
			cu, err := e.c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(e.bucket), Key: aws.String("mp")})
			if err != nil {
				return err
			}
			up, err := e.c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(e.bucket), Key: aws.String("mp"), UploadId: cu.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
			if err != nil {
				return err
			}
			in := &s3.CompleteMultipartUploadInput{Bucket: aws.String(e.bucket), Key: aws.String("mp"), UploadId: cu.UploadId,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: up.ETag}}}}
			a, err := e.c.CompleteMultipartUpload(ctx, in)
			if err != nil {
				return err
			}
			b, err := e.c.CompleteMultipartUpload(ctx, in)
			return errors.Join(err, expect(b != nil && aws.ToString(a.ETag) == aws.ToString(b.ETag), "second completion %v", b))
		}},
		{"MultipartCompositeChecksum", func(ctx context.Context, e *env) error {
			_, out, err := e.multipartObject(ctx, "mp", []string{big, "tail"}, func(in *s3.CreateMultipartUploadInput) { in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32 })
			if err != nil {
				return err
			}
			h, err := e.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("mp"), ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				return err
			}
			return expect(strings.HasSuffix(aws.ToString(h.ChecksumCRC32), "-2") && aws.ToString(h.ChecksumCRC32) == aws.ToString(out.ChecksumCRC32),
				"head %q complete %q", aws.ToString(h.ChecksumCRC32), aws.ToString(out.ChecksumCRC32))
		}},
		{"MultipartCompleteIfNoneMatch412", func(ctx context.Context, e *env) error {
			if _, err := e.put(ctx, "mp", "existing"); err != nil {
				return err
			}
			cu, err := e.c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(e.bucket), Key: aws.String("mp")})
			if err != nil {
				return err
			}
			up, err := e.c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(e.bucket), Key: aws.String("mp"), UploadId: cu.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
			if err != nil {
				return err
			}
			_, err = e.c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(e.bucket), Key: aws.String("mp"), UploadId: cu.UploadId, IfNoneMatch: aws.String("*"),
				MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: up.ETag}}}})
			return code(err, "PreconditionFailed", 412)
		}},
		{"MultipartTooSmall", func(ctx context.Context, e *env) error {
			_, _, err := e.multipartObject(ctx, "mp", []string{"small", "parts"}, nil)
			return code(err, "EntityTooSmall", 400)
		}},
		{"MultipartWrongETag", func(ctx context.Context, e *env) error {
			cu, err := e.c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(e.bucket), Key: aws.String("mp")})
			if err != nil {
				return err
			}
			if _, err := e.c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(e.bucket), Key: aws.String("mp"), UploadId: cu.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("x")}); err != nil {
				return err
			}
			_, err = e.c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(e.bucket), Key: aws.String("mp"), UploadId: cu.UploadId,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: aws.String(md5hex("y"))}}}})
			return code(err, "InvalidPart", 400)
		}},
		{"MultipartPartNumberOutOfRange", func(ctx context.Context, e *env) error {
			cu, err := e.c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(e.bucket), Key: aws.String("mp")})
			if err != nil {
				return err
			}
			_, err = e.c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(e.bucket), Key: aws.String("mp"), UploadId: cu.UploadId, PartNumber: aws.Int32(10001), Body: strings.NewReader("x")})
			return code(err, "InvalidArgument", 400)
		}},
		{"MultipartNoSuchUpload", func(ctx context.Context, e *env) error {
			_, err := e.c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(e.bucket), Key: aws.String("mp"), UploadId: aws.String("nope"), PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
			return code(err, "NoSuchUpload", 404)
		}},
		{"MultipartAbortAndList", func(ctx context.Context, e *env) error {
			cu, err := e.c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(e.bucket), Key: aws.String("mp")})
			if err != nil {
				return err
			}
			l, err := e.c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(e.bucket)})
			if err != nil || len(l.Uploads) != 1 {
				return fmt.Errorf("uploads %v, %w", l, err)
			}
			if _, err := e.c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(e.bucket), Key: aws.String("mp"), UploadId: cu.UploadId}); err != nil {
				return err
			}
			_, err = e.c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(e.bucket), Key: aws.String("mp"), UploadId: cu.UploadId})
			return code(err, "NoSuchUpload", 404)
		}},
		{"UploadPartCopyRange", func(ctx context.Context, e *env) error {
			if _, err := e.put(ctx, "src", "0123456789"); err != nil {
				return err
			}
			cu, err := e.c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(e.bucket), Key: aws.String("mp")})
			if err != nil {
				return err
			}
			cp, err := e.c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(e.bucket), Key: aws.String("mp"), UploadId: cu.UploadId, PartNumber: aws.Int32(1),
				CopySource: aws.String(e.bucket + "/src"), CopySourceRange: aws.String("bytes=2-5")})
			if err != nil {
				return err
			}
			if _, err := e.c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(e.bucket), Key: aws.String("mp"), UploadId: cu.UploadId,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: cp.CopyPartResult.ETag}}}}); err != nil {
				return err
			}
			got, _, err := e.get(ctx, "mp")
			return errors.Join(err, expect(got == "2345", "copied part %q", got))
		}},
		{"UploadPartCopyRangePastEnd", func(ctx context.Context, e *env) error {
			if _, err := e.put(ctx, "src", "0123456789"); err != nil {
				return err
			}
			cu, err := e.c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(e.bucket), Key: aws.String("mp")})
			if err != nil {
				return err
			}
			_, err = e.c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(e.bucket), Key: aws.String("mp"), UploadId: cu.UploadId, PartNumber: aws.Int32(1),
				CopySource: aws.String(e.bucket + "/src"), CopySourceRange: aws.String("bytes=5-20")})
			return code(err, "InvalidArgument", 400)
		}},
		// Presigned URLs.
		{"PresignedGet", func(ctx context.Context, e *env) error {
			if _, err := e.put(ctx, "p", "presigned"); err != nil {
				return err
			}
			req, err := s3.NewPresignClient(e.c).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("p")}, s3.WithPresignExpires(time.Minute))
			if err != nil {
				return err
			}
			status, body, err := e.rawGet(ctx, req.URL)
			return errors.Join(err, expect(status == 200 && body == "presigned", "GET %d %q", status, body))
		}},
		{"PresignedPut", func(ctx context.Context, e *env) error {
			req, err := s3.NewPresignClient(e.c).PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("pp")}, s3.WithPresignExpires(time.Minute))
			if err != nil {
				return err
			}
			r, _ := http.NewRequestWithContext(ctx, http.MethodPut, req.URL, strings.NewReader("put by url"))
			for k, vs := range req.SignedHeader {
				r.Header[k] = vs
			}
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				return err
			}
			_ = resp.Body.Close()
			got, _, err := e.get(ctx, "pp")
			return errors.Join(err, expect(resp.StatusCode == 200 && got == "put by url", "PUT %d, then %q", resp.StatusCode, got))
		}},
		{"PresignedTampered403", func(ctx context.Context, e *env) error {
			if _, err := e.put(ctx, "p", "x"); err != nil {
				return err
			}
			req, err := s3.NewPresignClient(e.c).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("p")})
			if err != nil {
				return err
			}
			status, body, err := e.rawGet(ctx, strings.Replace(req.URL, "/p?", "/q?", 1))
			return errors.Join(err, expect(status == 403 && strings.Contains(body, "SignatureDoesNotMatch"), "GET %d %s", status, body))
		}},
		{"UnsignedRefused403", func(ctx context.Context, e *env) error {
			status, body, err := e.rawGet(ctx, e.t.Endpoint+"/"+e.bucket+"/")
			return errors.Join(err, expect(status == 403 && strings.Contains(body, "AccessDenied"), "GET %d %s", status, body))
		}},
		{"WrongKey403", func(ctx context.Context, e *env) error {
			bad := e.t
			bad.AccessKeyID = "AKIANOBODYATALL0000"
			_, err := bad.client().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(e.bucket)})
			return code(err, "InvalidAccessKeyId", 403)
		}},
		{"WrongSecret403", func(ctx context.Context, e *env) error {
			bad := e.t
			bad.SecretAccessKey = "wrong"
			_, err := bad.client().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(e.bucket)})
			return code(err, "SignatureDoesNotMatch", 403)
		}},
		// POST uploads.
		{"PostPolicySigV4", func(ctx context.Context, e *env) error {
			post, err := s3.NewPresignClient(e.c).PresignPostObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("form/x")}, func(o *s3.PresignPostOptions) {
				o.Expires = 5 * time.Minute
			})
			if err != nil {
				return err
			}
			status, body, err := postForm(ctx, post.URL, post.Values, "posted")
			if err != nil {
				return err
			}
			got, _, err := e.get(ctx, "form/x")
			return errors.Join(err, expect(status == 204 && got == "posted", "POST %d %s, then %q", status, body, got))
		}},
		{"PostPolicySigV2", func(ctx context.Context, e *env) error {
			policy := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, `{"expiration":%q,"conditions":[{"bucket":%q},["starts-with","$key","form/"]]}`,
				time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05Z"), e.bucket))
			m := hmac.New(sha1.New, []byte(e.t.SecretAccessKey))
			m.Write([]byte(policy))
			fields := map[string]string{"key": "form/v2", "AWSAccessKeyId": e.t.AccessKeyID, "policy": policy, "signature": base64.StdEncoding.EncodeToString(m.Sum(nil))}
			status, body, err := postForm(ctx, e.t.Endpoint+"/"+e.bucket, fields, "v2 posted")
			if err != nil {
				return err
			}
			got, _, err := e.get(ctx, "form/v2")
			return errors.Join(err, expect(status == 204 && got == "v2 posted", "POST %d %s, then %q", status, body, got))
		}},
		{"PostPolicyTampered403", func(ctx context.Context, e *env) error {
			post, err := s3.NewPresignClient(e.c).PresignPostObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("form/x")})
			if err != nil {
				return err
			}
			post.Values["policy"] = base64.StdEncoding.EncodeToString([]byte(`{"expiration":"2099-01-01T00:00:00Z","conditions":[]}`))
			status, body, err := postForm(ctx, post.URL, post.Values, "x")
			return errors.Join(err, expect(status == 403 && strings.Contains(body, "SignatureDoesNotMatch"), "POST %d %s", status, body))
		}},
		// Buckets and errors.
		{"BucketNotEmpty409", func(ctx context.Context, e *env) error {
			if _, err := e.put(ctx, "k", "x"); err != nil {
				return err
			}
			_, err := e.c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(e.bucket)})
			return code(err, "BucketNotEmpty", 409)
		}},
		{"InvalidBucketName400", func(ctx context.Context, e *env) error {
			_, err := e.c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
			return code(err, "InvalidBucketName", 400)
		}},
		{"HeadBucket", func(ctx context.Context, e *env) error {
			if _, err := e.c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(e.bucket)}); err != nil {
				return err
			}
			_, err := e.c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(e.bucket + "-nope")})
			return code(err, "", 404)
		}},
		{"ListBucketsShowsBucket", func(ctx context.Context, e *env) error {
			out, err := e.c.ListBuckets(ctx, &s3.ListBucketsInput{})
			if err != nil {
				return err
			}
			for _, b := range out.Buckets {
				if aws.ToString(b.Name) == e.bucket && b.CreationDate != nil {
					return nil
				}
			}
			return fmt.Errorf("bucket %s not listed", e.bucket)
		}},
	}
}

// postForm sends a browser-form POST upload with fields and a file.
func postForm(ctx context.Context, url string, fields map[string]string, file string) (int, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			return 0, "", err
		}
	}
	fw, err := mw.CreateFormFile("file", "f.bin")
	if err != nil {
		return 0, "", err
	}
	_, _ = fw.Write([]byte(file))
	if err := mw.Close(); err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, &buf)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}
