package s3api_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/objstore/diskstore"
	"github.com/imagerec/imagerec/internal/objstore/memstore"
	"github.com/imagerec/imagerec/internal/s3api"
	"github.com/imagerec/imagerec/internal/s3event"
)

const (
	testKeyID  = "AKIAIMAGERECTEST"
	testSecret = "imagerec-test-secret-key"
	upload     = "image-upload-bucket"
)

// recorder collects event records; fail makes Notify fail.
type recorder struct {
	mu   sync.Mutex
	recs []s3event.Record
	fail bool
}

func (r *recorder) notify(ctx context.Context, rec s3event.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("queue unavailable")
	}
	r.recs = append(r.recs, rec)
	return nil
}

func (r *recorder) records() []s3event.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.recs)
}

type env struct {
	root   string // the store lives in root/data
	srv    *httptest.Server
	client *s3.Client
	store  objstore.Store
	events *recorder
}

func newEnv(t *testing.T, mutate ...func(*s3api.Options)) *env {
	t.Helper()
	return newDiskEnv(t, diskstore.Options{}, mutate...)
}

// newDiskEnv is newEnv with diskstore options (NoSync for tests whose
// subject is not durability).
func newDiskEnv(t *testing.T, dopts diskstore.Options, mutate ...func(*s3api.Options)) *env {
	t.Helper()
	root := t.TempDir()
	store, err := diskstore.Open(filepath.Join(root, "data"), dopts)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	opts := s3api.Options{
		Credentials: []s3api.Credentials{{AccessKeyID: testKeyID, SecretAccessKey: testSecret}},
		Rules:       s3event.Rules{{ID: "imagerec-upload", Bucket: upload}},
		Notify:      rec.notify,
	}
	for _, m := range mutate {
		m(&opts)
	}
	srv := httptest.NewServer(s3api.New(store, opts))
	t.Cleanup(srv.Close)
	return &env{root: root, srv: srv, client: newClient(srv.URL, testKeyID, testSecret), store: store, events: rec}
}

func newClient(endpoint, id, secret string) *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, nil
		}),
		RetryMaxAttempts: 1,
	})
}

// apiCode returns the S3 error code and HTTP status of an SDK error.
func apiCode(err error) (string, int) {
	var ae smithy.APIError
	code := ""
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var re interface{ HTTPStatusCode() int }
	status := 0
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return code, status
}

func wantCode(t *testing.T, err error, code string, status int) {
	t.Helper()
	gotCode, gotStatus := apiCode(err)
	if gotCode != code || gotStatus != status {
		t.Errorf("err = %v; want %s %d", err, code, status)
	}
}

func md5hex(b []byte) string {
	h := md5.Sum(b)
	return hex.EncodeToString(h[:])
}

func (e *env) mkbucket(t *testing.T, name string) {
	t.Helper()
	if _, err := e.client.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("CreateBucket(%s): %v", name, err)
	}
}

func (e *env) put(t *testing.T, bucket, key string, body []byte) *s3.PutObjectOutput {
	t.Helper()
	out, err := e.client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatalf("PutObject(%s/%s): %v", bucket, key, err)
	}
	return out
}

func (e *env) get(t *testing.T, bucket, key string) []byte {
	t.Helper()
	out, err := e.client.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject(%s/%s): %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBuckets(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.mkbucket(t, "zeta")
	e.mkbucket(t, upload)
	// us-east-1 answers 200 to CreateBucket of one's own bucket (see
	// TestSmallDifferences for other regions).
	_, err := e.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("zeta")})
	if err != nil {
		t.Errorf("CreateBucket(own) = %v, want 200 in us-east-1", err)
	}
	_, err = e.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
	wantCode(t, err, "InvalidBucketName", 400)

	lb, err := e.client.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range lb.Buckets {
		names = append(names, aws.ToString(b.Name))
		if b.CreationDate == nil || time.Since(*b.CreationDate) > time.Minute {
			t.Errorf("bucket %s creation date %v", aws.ToString(b.Name), b.CreationDate)
		}
	}
	if diff := cmp.Diff([]string{upload, "zeta"}, names); diff != "" {
		t.Errorf("ListBuckets (-want +got):\n%s", diff)
	}
	if _, err := e.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("zeta")}); err != nil {
		t.Errorf("HeadBucket: %v", err)
	}
	_, err = e.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("nope-bucket")})
	if _, status := apiCode(err); status != 404 {
		t.Errorf("HeadBucket(missing) = %v, want 404", err)
	}
	loc, err := e.client.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("zeta")})
	if err != nil || loc.LocationConstraint != "" {
		t.Errorf("GetBucketLocation = %v, %v; want empty (us-east-1)", loc, err)
	}
	e.put(t, "zeta", "k", []byte("v"))
	_, err = e.client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("zeta")})
	wantCode(t, err, "BucketNotEmpty", 409)
	if _, err := e.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("zeta"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("zeta")}); err != nil {
		t.Fatalf("DeleteBucket: %v", err)
	}
	_, err = e.client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("zeta")})
	wantCode(t, err, "NoSuchBucket", 404)
	_, err = e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("zeta"), Key: aws.String("k"), Body: strings.NewReader("x")})
	wantCode(t, err, "NoSuchBucket", 404)
}

func TestPutGetObject(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.mkbucket(t, upload)
	body := []byte("0123456789abcdefghij")
	sum := md5.Sum(body)
	out, err := e.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(upload), Key: aws.String("dir/photo.jpg"), Body: bytes.NewReader(body),
		ContentType: aws.String("image/jpeg"), Metadata: map[string]string{"origin": "camera", "note": "hello world"},
		ContentMD5: aws.String(base64.StdEncoding.EncodeToString(sum[:])),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(out.ETag), `"`+md5hex(body)+`"`; got != want {
		t.Errorf("ETag = %s, want %s", got, want)
	}
	g, err := e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(upload), Key: aws.String("dir/photo.jpg")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(g.Body)
	g.Body.Close()
	if !bytes.Equal(got, body) || aws.ToString(g.ContentType) != "image/jpeg" || aws.ToInt64(g.ContentLength) != int64(len(body)) ||
		g.Metadata["origin"] != "camera" || g.Metadata["note"] != "hello world" || aws.ToString(g.ETag) != `"`+md5hex(body)+`"` {
		t.Errorf("GetObject = %q %+v", got, g)
	}
	h, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(upload), Key: aws.String("dir/photo.jpg")})
	if err != nil || aws.ToInt64(h.ContentLength) != int64(len(body)) || h.LastModified == nil {
		t.Errorf("HeadObject = %+v, %v", h, err)
	}

	// Bad Content-MD5: BadDigest, old object kept.
	wrong := md5.Sum([]byte("other"))
	_, err = e.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(upload), Key: aws.String("dir/photo.jpg"), Body: strings.NewReader("replacement"),
		ContentMD5: aws.String(base64.StdEncoding.EncodeToString(wrong[:])),
	})
	wantCode(t, err, "BadDigest", 400)
	if got := e.get(t, upload, "dir/photo.jpg"); !bytes.Equal(got, body) {
		t.Errorf("after BadDigest: %q", got)
	}
	_, err = e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(upload), Key: aws.String("missing")})
	wantCode(t, err, "NoSuchKey", 404)
	_, err = e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(upload), Key: aws.String("missing")})
	if _, status := apiCode(err); status != 404 {
		t.Errorf("HeadObject(missing) = %v", err)
	}

	// Over the size limit.
	small := newEnv(t, func(o *s3api.Options) { o.MaxObjectSize = 10 })
	small.mkbucket(t, "bkt")
	_, err = small.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("big"), Body: strings.NewReader("01234567890")})
	wantCode(t, err, "EntityTooLarge", 400)
	_, err = small.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("big")})
	if _, status := apiCode(err); status != 404 {
		t.Errorf("object stored despite EntityTooLarge: %v", err)
	}

	// Zero-byte object.
	e.put(t, upload, "empty", nil)
	if got := e.get(t, upload, "empty"); len(got) != 0 {
		t.Errorf("empty object = %q", got)
	}
}

func TestRange(t *testing.T) {
	e := newEnv(t)
	e.mkbucket(t, "bkt")
	e.put(t, "bkt", "k", []byte("0123456789"))
	tests := []struct {
		rng, want, contentRange string
		status                  int
	}{
		{"bytes=0-3", "0123", "bytes 0-3/10", 206},
		{"bytes=7-", "789", "bytes 7-9/10", 206},
		{"bytes=-3", "789", "bytes 7-9/10", 206},
		{"bytes=-30", "0123456789", "bytes 0-9/10", 206},
		{"bytes=5-100", "56789", "bytes 5-9/10", 206},
		{"bytes=10-", "", "bytes */10", 416},
		{"bytes=0-1,4-5", "0123456789", "", 200},
		{"chars=0-1", "0123456789", "", 200},
	}
	for _, tc := range tests {
		t.Run(tc.rng, func(t *testing.T) {
			out, err := e.client.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Range: aws.String(tc.rng)})
			if tc.status == 416 {
				wantCode(t, err, "InvalidRange", 416)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer out.Body.Close()
			got, _ := io.ReadAll(out.Body)
			if string(got) != tc.want || aws.ToString(out.ContentRange) != tc.contentRange {
				t.Errorf("got %q range %q; want %q %q", got, aws.ToString(out.ContentRange), tc.want, tc.contentRange)
			}
		})
	}
	t.Run("conditional", func(t *testing.T) {
		etag := `"` + md5hex([]byte("0123456789")) + `"`
		_, err := e.client.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), IfNoneMatch: aws.String(etag)})
		if _, status := apiCode(err); status != 304 {
			t.Errorf("If-None-Match = %v, want 304", err)
		}
		_, err = e.client.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), IfMatch: aws.String(`"nope"`)})
		wantCode(t, err, "PreconditionFailed", 412)
		out, err := e.client.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), IfMatch: aws.String(etag)})
		if err != nil {
			t.Fatalf("If-Match(current) = %v", err)
		}
		out.Body.Close()
	})
}

var trickyKeys = []string{
	"with space.jpg", "plus+sign.jpg", "ünïcödé/日本語.png", "../../escape.jpg", "a//b", "percent%20.jpg",
	"q?x=1&y=2#frag", "emoji 📷.jpg", "trailing/", "tilde~*'()!$;,.jpg",
}

func TestTrickyKeys(t *testing.T) {
	e := newEnv(t)
	e.mkbucket(t, upload)
	for _, k := range trickyKeys {
		e.put(t, upload, k, []byte("body:"+k))
	}
	for _, k := range trickyKeys {
		if got := string(e.get(t, upload, k)); got != "body:"+k {
			t.Errorf("GetObject(%q) = %q", k, got)
		}
	}
	// Nothing was written outside the data directory.
	if des, err := os.ReadDir(e.root); err != nil || len(des) != 1 || des[0].Name() != "data" {
		t.Errorf("files beside the data dir: %v %v", des, err)
	}
	out, err := e.client.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(upload)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range out.Contents {
		got = append(got, aws.ToString(o.Key))
	}
	want := slices.Sorted(slices.Values(trickyKeys))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListObjectsV2 (-want +got):\n%s", diff)
	}
	// encoding-type=url: keys come back encoded; decoding gives the keys.
	enc, err := e.client.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(upload), EncodingType: types.EncodingTypeUrl})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, o := range enc.Contents {
		k := aws.ToString(o.Key)
		if strings.ContainsAny(k, " +%") && !strings.Contains(k, "%") {
			t.Errorf("key %q not encoded", k)
		}
		dec, err := url.QueryUnescape(k)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, dec)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListObjectsV2 encoding-type=url decoded (-want +got):\n%s", diff)
	}
	// Events carry the S3-encoded keys; DecodedKey gives them back.
	var decoded []string
	for _, r := range e.events.records() {
		k, err := r.DecodedKey()
		if err != nil {
			t.Fatal(err)
		}
		if r.S3.Object.Key != s3event.EncodeKey(k) {
			t.Errorf("record key %q, want %q", r.S3.Object.Key, s3event.EncodeKey(k))
		}
		decoded = append(decoded, k)
	}
	if diff := cmp.Diff(trickyKeys, decoded); diff != "" {
		t.Errorf("event keys (-want +got):\n%s", diff)
	}
}

func TestListObjects(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.mkbucket(t, "bkt")
	var all []string
	for i := range 12 {
		k := fmt.Sprintf("photos/%02d.jpg", i)
		if i%4 == 0 {
			k = fmt.Sprintf("photos/album%d/x.jpg", i)
		}
		all = append(all, k)
		e.put(t, "bkt", k, []byte("x"))
	}
	e.put(t, "bkt", "readme.txt", []byte("x"))

	// Paginate with a delimiter, 5 per page.
	var keys, prefixes []string
	p := s3.NewListObjectsV2Paginator(e.client, &s3.ListObjectsV2Input{Bucket: aws.String("bkt"), Prefix: aws.String("photos/"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(5)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if n := len(out.Contents) + len(out.CommonPrefixes); int32(n) != aws.ToInt32(out.KeyCount) || n > 5 {
			t.Errorf("page %d: %d entries, KeyCount %d", pages, n, aws.ToInt32(out.KeyCount))
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		for _, cp := range out.CommonPrefixes {
			prefixes = append(prefixes, aws.ToString(cp.Prefix))
		}
	}
	if pages != 3 {
		t.Errorf("%d pages, want 3", pages)
	}
	if diff := cmp.Diff([]string{"photos/album0/", "photos/album4/", "photos/album8/"}, prefixes); diff != "" {
		t.Errorf("prefixes (-want +got):\n%s", diff)
	}
	if len(keys) != 9 {
		t.Errorf("keys = %v", keys)
	}
	sa, err := e.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bkt"), StartAfter: aws.String("photos/album8/x.jpg")})
	if err != nil || len(sa.Contents) != 1 || aws.ToString(sa.Contents[0].Key) != "readme.txt" {
		t.Errorf("start-after = %+v, %v", sa, err)
	}
	_, err = e.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bkt"), ContinuationToken: aws.String("!!!")})
	wantCode(t, err, "InvalidArgument", 400)
	_, err = e.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("nope-bucket")})
	wantCode(t, err, "NoSuchBucket", 404)

	// v1 with marker.
	v1, err := e.client.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("bkt"), MaxKeys: aws.Int32(10)})
	if err != nil || len(v1.Contents) != 10 || !aws.ToBool(v1.IsTruncated) {
		t.Fatalf("ListObjects v1 = %d, %v", len(v1.Contents), err)
	}
	v1b, err := e.client.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("bkt"), Marker: v1.Contents[9].Key})
	if err != nil || len(v1b.Contents) != 3 || aws.ToBool(v1b.IsTruncated) {
		t.Fatalf("ListObjects v1 page 2 = %d, %v", len(v1b.Contents), err)
	}
	// The two v1 pages hold every key once, in UTF-8 order.
	var listed []string
	for _, o := range append(v1.Contents, v1b.Contents...) {
		listed = append(listed, aws.ToString(o.Key))
	}
	want := append(all, "readme.txt")
	slices.Sort(want)
	if diff := cmp.Diff(want, listed); diff != "" {
		t.Errorf("ListObjects v1 keys (-want +got):\n%s", diff)
	}
}

func TestCopyAndDelete(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.mkbucket(t, "src")
	e.mkbucket(t, upload)
	_, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("a b+c/ü.jpg"), Body: strings.NewReader("copy me"),
		ContentType: aws.String("image/jpeg"), Metadata: map[string]string{"m": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := e.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(upload), Key: aws.String("copied.jpg"),
		CopySource: aws.String("src/" + url.PathEscape("a b+c/ü.jpg"))})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(cp.CopyObjectResult.ETag) != `"`+md5hex([]byte("copy me"))+`"` {
		t.Errorf("CopyObject ETag %s", aws.ToString(cp.CopyObjectResult.ETag))
	}
	h, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(upload), Key: aws.String("copied.jpg")})
	if err != nil || aws.ToString(h.ContentType) != "image/jpeg" || h.Metadata["m"] != "1" {
		t.Errorf("copied HeadObject = %+v, %v", h, err)
	}
	// REPLACE directive.
	if _, err := e.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(upload), Key: aws.String("copied.jpg"),
		CopySource: aws.String(upload + "/copied.jpg"), MetadataDirective: types.MetadataDirectiveReplace,
		ContentType: aws.String("image/png"), Metadata: map[string]string{"n": "2"}}); err != nil {
		t.Fatal(err)
	}
	h, _ = e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(upload), Key: aws.String("copied.jpg")})
	if aws.ToString(h.ContentType) != "image/png" || h.Metadata["n"] != "2" || h.Metadata["m"] != "" {
		t.Errorf("after REPLACE: %+v", h)
	}
	_, err = e.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(upload), Key: aws.String("x"), CopySource: aws.String("src/missing")})
	wantCode(t, err, "NoSuchKey", 404)
	recs := e.events.records()
	if len(recs) != 2 || recs[0].EventName != s3event.ObjectCreatedCopy {
		t.Errorf("events = %+v", recs)
	}

	// DeleteObjects.
	for _, k := range []string{"d1", "d 2", "d+3"} {
		e.put(t, "src", k, []byte("x"))
	}
	del, err := e.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("src"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("d1")}, {Key: aws.String("d 2")}, {Key: aws.String("d+3")}, {Key: aws.String("never-existed")},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(del.Deleted) != 4 || len(del.Errors) != 0 {
		t.Errorf("DeleteObjects = %+v", del)
	}
	left, _ := e.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("src")})
	if len(left.Contents) != 1 {
		t.Errorf("after DeleteObjects: %d objects left, want 1", len(left.Contents))
	}
}

func TestMultipart(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.mkbucket(t, upload)
	key := "big photo+1.jpg"
	cr, err := e.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(upload), Key: aws.String(key), ContentType: aws.String("image/jpeg")})
	if err != nil {
		t.Fatal(err)
	}
	p1 := bytes.Repeat([]byte{'x'}, objstore.MinPartSize)
	p2 := []byte("the end")
	var parts []types.CompletedPart
	for i, body := range [][]byte{p1, p2} {
		up, err := e.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(upload), Key: aws.String(key), UploadId: cr.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatalf("UploadPart %d: %v", i+1, err)
		}
		if aws.ToString(up.ETag) != `"`+md5hex(body)+`"` {
			t.Errorf("part %d ETag %s", i+1, aws.ToString(up.ETag))
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: up.ETag})
	}
	lp, err := e.client.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(upload), Key: aws.String(key), UploadId: cr.UploadId})
	if err != nil || len(lp.Parts) != 2 || aws.ToInt64(lp.Parts[0].Size) != objstore.MinPartSize {
		t.Fatalf("ListParts = %+v, %v", lp, err)
	}
	lu, err := e.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(upload)})
	if err != nil || len(lu.Uploads) != 1 {
		t.Errorf("ListMultipartUploads = %+v, %v", lu, err)
	}
	if n := len(e.events.records()); n != 0 {
		t.Errorf("%d events before completion", n)
	}
	_, err = e.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(upload), Key: aws.String(key), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{parts[1], parts[0]}}})
	wantCode(t, err, "InvalidPartOrder", 400)
	co, err := e.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(upload), Key: aws.String(key), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		t.Fatal(err)
	}
	m1, m2 := md5.Sum(p1), md5.Sum(p2)
	all := md5.Sum(append(m1[:], m2[:]...))
	wantETag := `"` + hex.EncodeToString(all[:]) + `-2"`
	if aws.ToString(co.ETag) != wantETag {
		t.Errorf("Complete ETag %s, want %s", aws.ToString(co.ETag), wantETag)
	}
	got := e.get(t, upload, key)
	if !bytes.Equal(got, append(slices.Clone(p1), p2...)) {
		t.Errorf("assembled object: %d bytes", len(got))
	}
	recs := e.events.records()
	if len(recs) != 1 || recs[0].EventName != s3event.ObjectCreatedCompleteMultipartUpload || recs[0].S3.Object.ETag != strings.Trim(wantETag, `"`) ||
		recs[0].S3.Object.Size != int64(len(got)) || recs[0].S3.Object.Key != "big+photo%2B1.jpg" {
		t.Errorf("events = %+v", recs)
	}
	// Abort.
	cr2, err := e.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(upload), Key: aws.String("aborted")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(upload), Key: aws.String("aborted"), UploadId: cr2.UploadId}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(upload), Key: aws.String("aborted"), UploadId: cr2.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
	wantCode(t, err, "NoSuchUpload", 404)
	// UploadPartCopy.
	cr3, _ := e.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(upload), Key: aws.String("from-copy")})
	pc, err := e.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(upload), Key: aws.String("from-copy"), UploadId: cr3.UploadId,
		PartNumber: aws.Int32(1), CopySource: aws.String(upload + "/" + url.PathEscape(key)), CopySourceRange: aws.String("bytes=0-99")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(pc.CopyPartResult.ETag) != `"`+md5hex(p1[:100])+`"` {
		t.Errorf("UploadPartCopy ETag %s", aws.ToString(pc.CopyPartResult.ETag))
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.mkbucket(t, "bkt")
	e.put(t, "bkt", "k", []byte("secret"))
	_, err := newClient(e.srv.URL, testKeyID, "wrong-secret").ListBuckets(ctx, &s3.ListBucketsInput{})
	wantCode(t, err, "SignatureDoesNotMatch", 403)
	_, err = newClient(e.srv.URL, "AKIANOBODY", testSecret).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	wantCode(t, err, "InvalidAccessKeyId", 403)
	_, err = newClient(e.srv.URL, testKeyID, "wrong-secret").PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("evil")})
	wantCode(t, err, "SignatureDoesNotMatch", 403)
	if got := string(e.get(t, "bkt", "k")); got != "secret" {
		t.Errorf("object changed by a refused PUT: %q", got)
	}
	// Anonymous GET: 403 with an S3 XML error.
	resp, err := http.Get(e.srv.URL + "/bkt/k")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !bytes.Contains(b, []byte("<Code>AccessDenied</Code>")) || resp.Header.Get("X-Amz-Request-Id") == "" {
		t.Errorf("anonymous GET = %d %s", resp.StatusCode, b)
	}
}

func TestPresigned(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.mkbucket(t, upload)
	pc := s3.NewPresignClient(e.client)
	put, err := pc.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(upload), Key: aws.String("pre signed+.jpg")}, s3.WithPresignExpires(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(put.Method, put.URL, strings.NewReader("via presigned put"))
	for k, v := range put.SignedHeader {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("presigned PUT = %d %s", resp.StatusCode, b)
	}
	if recs := e.events.records(); len(recs) != 1 || recs[0].EventName != s3event.ObjectCreatedPut {
		t.Errorf("presigned PUT events = %+v", recs)
	}
	get, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(upload), Key: aws.String("pre signed+.jpg")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(get.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "via presigned put" {
		t.Errorf("presigned GET = %d %q", resp.StatusCode, b)
	}
	// Tampered and expired URLs.
	resp, _ = http.Get(strings.Replace(get.URL, "X-Amz-Expires=60", "X-Amz-Expires=600", 1))
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("tampered presigned GET = %d", resp.StatusCode)
	}
	late := newEnv(t, func(o *s3api.Options) { o.Now = func() time.Time { return time.Now().Add(2 * time.Minute) } })
	lateURL := strings.Replace(get.URL, e.srv.URL, late.srv.URL, 1)
	resp, _ = http.Get(lateURL)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !bytes.Contains(b, []byte("Request has expired")) {
		t.Errorf("expired presigned GET = %d %s", resp.StatusCode, b)
	}
}

func TestEvents(t *testing.T) {
	e := newEnv(t, func(o *s3api.Options) {
		o.Rules = append(o.Rules, s3event.Rule{ID: "jpg-only", Bucket: "other", Prefix: "in/", Suffix: ".jpg"})
	})
	ctx := t.Context()
	e.mkbucket(t, upload)
	e.mkbucket(t, "other")
	start := time.Now().Add(-time.Second)
	e.put(t, upload, "a.jpg", []byte("first"))
	e.put(t, upload, "a.jpg", []byte("second"))
	e.put(t, "other", "in/b.jpg", []byte("x"))
	e.put(t, "other", "in/b.png", []byte("x"))
	e.put(t, "other", "out/b.jpg", []byte("x"))
	recs := e.events.records()
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3: %+v", len(recs), recs)
	}
	r := recs[0]
	if r.EventVersion != "2.1" || r.EventSource != "aws:s3" || r.AWSRegion != "us-east-1" || r.EventName != "ObjectCreated:Put" ||
		r.S3.Bucket.ARN != "arn:aws:s3:::"+upload || r.S3.ConfigurationID != "imagerec-upload" || r.S3.Object.ETag != md5hex([]byte("first")) ||
		r.S3.Object.Size != 5 || r.RequestParameters.SourceIPAddress != "127.0.0.1" || r.UserIdentity.PrincipalID != testKeyID ||
		r.ResponseElements.RequestID == "" || r.EventTime.Before(start) || r.S3.SchemaVersion != "1.0" {
		t.Errorf("record = %+v", r)
	}
	if recs[1].S3.Object.Sequencer <= recs[0].S3.Object.Sequencer {
		t.Errorf("sequencer not increasing: %s then %s", recs[0].S3.Object.Sequencer, recs[1].S3.Object.Sequencer)
	}
	if recs[2].S3.ConfigurationID != "jpg-only" || recs[2].S3.Object.Key != "in/b.jpg" {
		t.Errorf("filtered record = %+v", recs[2])
	}

	// Notify failure: 503, the SDK would retry.
	e.events.mu.Lock()
	e.events.fail = true
	e.events.mu.Unlock()
	_, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(upload), Key: aws.String("c.jpg"), Body: strings.NewReader("x")})
	wantCode(t, err, "ServiceUnavailable", 503)
	e.events.mu.Lock()
	e.events.fail = false
	e.events.mu.Unlock()

	// Notification configuration over the API.
	_, err = e.client.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket: aws.String("other"),
		NotificationConfiguration: &types.NotificationConfiguration{QueueConfigurations: []types.QueueConfiguration{{
			Id: aws.String("pngs"), QueueArn: aws.String("arn:aws:sqs:us-east-1:123456789012:q"),
			Events: []types.Event{"s3:ObjectCreated:*"},
			Filter: &types.NotificationConfigurationFilter{Key: &types.S3KeyFilter{FilterRules: []types.FilterRule{{Name: types.FilterRuleNamePrefix, Value: aws.String("in/")}, {Name: types.FilterRuleNameSuffix, Value: aws.String(".png")}}}},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	gn, err := e.client.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("other")})
	if err != nil || len(gn.QueueConfigurations) != 1 || aws.ToString(gn.QueueConfigurations[0].Id) != "pngs" {
		t.Fatalf("GetBucketNotificationConfiguration = %+v, %v", gn, err)
	}
	n := len(e.events.records())
	e.put(t, "other", "in/c.png", []byte("x"))
	e.put(t, "other", "in/c.jpg", []byte("x"))
	recs = e.events.records()[n:]
	if len(recs) != 1 || recs[0].S3.ConfigurationID != "pngs" {
		t.Errorf("after PutBucketNotificationConfiguration: %+v", recs)
	}
}

func TestNotImplemented(t *testing.T) {
	e := newEnv(t)
	e.mkbucket(t, "bkt")
	_, err := e.client.GetBucketPolicy(t.Context(), &s3.GetBucketPolicyInput{Bucket: aws.String("bkt")})
	wantCode(t, err, "NotImplemented", 501)
}

// Over TLS the SDK sends UNSIGNED-PAYLOAD with an x-amz-checksum-crc32
// header instead of signing the body's SHA-256; other clients send
// aws-chunked bodies with a checksum trailer (signed here with the SDK's own
// SigV4 signer).
func TestStreamingBodies(t *testing.T) {
	modes := &payloadModes{modes: map[string]int{}}
	store, err := diskstore.Open(t.TempDir(), diskstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(modes.wrap(s3api.New(store, s3api.Options{Credentials: []s3api.Credentials{{AccessKeyID: testKeyID, SecretAccessKey: testSecret}}})))
	t.Cleanup(srv.Close)
	c := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, HTTPClient: srv.Client(), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}, nil
		}),
	})
	ctx := t.Context()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 300000) // several chunks
	for name, body := range map[string]io.Reader{"seekable": bytes.NewReader(big), "stream": io.MultiReader(bytes.NewReader(big))} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(name), Body: body, ContentLength: aws.Int64(int64(len(big)))}); err != nil {
			t.Fatalf("PutObject(%s): %v", name, err)
		}
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if !bytes.Equal(got, big) || aws.ToString(out.ETag) != `"`+md5hex(big)+`"` {
			t.Errorf("%s: %d bytes back, etag %s", name, len(got), aws.ToString(out.ETag))
		}
	}
	// A wrong CRC32 is refused.
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("bad"), Body: bytes.NewReader(big), ChecksumCRC32: aws.String("AAAAAA==")})
	wantCode(t, err, "BadDigest", 400)
	if modes.modes["PUT UNSIGNED-PAYLOAD"] == 0 {
		t.Errorf("the SDK never sent UNSIGNED-PAYLOAD over TLS: %v", modes.modes)
	}
	t.Logf("payload modes: %v", modes.modes)

	// An aws-chunked body with a CRC32 trailer, signed with the SDK's signer.
	send := func(body, crc string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/bkt/chunked", strings.NewReader(body))
		req.Header.Set("Content-Encoding", "aws-chunked")
		req.Header.Set("X-Amz-Decoded-Content-Length", "11")
		req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
		req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
		signer := v4.NewSigner()
		if err := signer.SignHTTP(ctx, aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}, req,
			"STREAMING-UNSIGNED-PAYLOAD-TRAILER", "s3", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	chunked := func(crc string) string {
		return "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:" + crc + "\r\n\r\n"
	}
	if code := send(chunked("DUoRhQ=="), ""); code != 200 {
		t.Errorf("aws-chunked PUT = %d", code)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("chunked")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(got) != "hello world" {
		t.Errorf("aws-chunked object = %q", got)
	}
	if code := send(chunked("AAAAAA=="), ""); code != 400 {
		t.Errorf("aws-chunked PUT with a wrong CRC32 = %d, want 400", code)
	}
}

func TestNotifyingStore(t *testing.T) {
	rec := &recorder{}
	s := s3api.NewNotifyingStore(memstore.New(), s3api.NotifyOptions{
		Rules:  s3event.Rules{{ID: "results", Bucket: "out", Suffix: ".json"}},
		Notify: rec.notify,
	})
	ctx := t.Context()
	if err := s.CreateBucket(ctx, "out"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a b.jpg.json", "a b.jpg.error.txt"} {
		if _, err := s.PutObject(ctx, "out", k, strings.NewReader("{}"), objstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	recs := rec.records()
	if len(recs) != 1 || recs[0].S3.Object.Key != "a+b.jpg.json" || recs[0].EventName != s3event.ObjectCreatedPut ||
		recs[0].S3.Object.ETag != md5hex([]byte("{}")) || recs[0].S3.ConfigurationID != "results" {
		t.Errorf("records = %+v", recs)
	}
	rec.fail = true
	if _, err := s.PutObject(ctx, "out", "b.json", strings.NewReader("{}"), objstore.PutOptions{}); err == nil {
		t.Error("PutObject succeeded although the notification failed")
	}
}

func TestPostObject(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.mkbucket(t, upload)
	pc := s3.NewPresignClient(e.client)
	post, err := pc.PresignPostObject(ctx, &s3.PutObjectInput{Bucket: aws.String(upload), Key: aws.String("uploads/x")}, func(o *s3.PresignPostOptions) {
		o.Expires = 5 * time.Minute
		o.Conditions = []any{
			[]any{"starts-with", "$key", "uploads/"},
			map[string]string{"Content-Type": "image/jpeg"},
			[]any{"content-length-range", 1, 100},
			[]any{"starts-with", "$success_action_status", ""},
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	send := func(mutate func(map[string]string), file []byte) (int, string) {
		t.Helper()
		fields := maps.Clone(post.Values)
		fields["Content-Type"] = "image/jpeg"
		fields["key"] = "uploads/${filename}"
		fields["success_action_status"] = "201"
		if mutate != nil {
			mutate(fields)
		}
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for _, k := range slices.Sorted(maps.Keys(fields)) {
			if err := mw.WriteField(k, fields[k]); err != nil {
				t.Fatal(err)
			}
		}
		fw, err := mw.CreateFormFile("file", "holiday photo+1.jpg")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(file); err != nil {
			t.Fatal(err)
		}
		if err := mw.Close(); err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(post.URL, mw.FormDataContentType(), &buf)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := send(func(f map[string]string) { delete(f, "success_action_status") }, []byte("a photo"))
	if status != 204 {
		t.Fatalf("POST upload = %d %s", status, body)
	}
	if got := string(e.get(t, upload, "uploads/holiday photo+1.jpg")); got != "a photo" {
		t.Errorf("posted object = %q", got)
	}
	recs := e.events.records()
	if len(recs) != 1 || recs[0].EventName != s3event.ObjectCreatedPost || recs[0].S3.Object.Key != "uploads/holiday+photo%2B1.jpg" {
		t.Errorf("events = %+v", recs)
	}
	tests := []struct {
		name   string
		mutate func(map[string]string)
		file   []byte
		status int
		code   string
	}{
		{"201 with PostResponse", nil, []byte("x"), 201, "<PostResponse>"},
		{"too large", nil, bytes.Repeat([]byte("x"), 101), 400, "EntityTooLarge"},
		{"wrong content type", func(f map[string]string) { f["Content-Type"] = "text/html" }, []byte("x"), 403, "AccessDenied"},
		{"key outside prefix", func(f map[string]string) { f["key"] = "elsewhere/x" }, []byte("x"), 403, "AccessDenied"},
		{"extra field", func(f map[string]string) { f["x-amz-meta-evil"] = "1" }, []byte("x"), 403, "Extra input fields"},
		{"tampered policy", func(f map[string]string) {
			f["policy"] = base64.StdEncoding.EncodeToString([]byte(`{"expiration":"2099-01-01T00:00:00Z","conditions":[]}`))
		}, []byte("x"), 403, "SignatureDoesNotMatch"},
		{"unknown key id", func(f map[string]string) {
			f["X-Amz-Credential"] = strings.Replace(f["X-Amz-Credential"], testKeyID, "AKIANOBODY", 1)
		}, []byte("x"), 403, "InvalidAccessKeyId"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := send(tc.mutate, tc.file)
			if status != tc.status || !strings.Contains(body, tc.code) {
				t.Errorf("= %d %s; want %d %s", status, body, tc.status, tc.code)
			}
		})
	}
}

// TestKeyLimit: a key that a notification rule selects and KeyLimit refuses
// gets 400 KeyTooLongError with the limit's reason, for every way of
// writing an object, and nothing is stored or emitted; other buckets and
// keys are not asked.
func TestKeyLimit(t *testing.T) {
	t.Parallel()
	const limit = 20
	e := newEnv(t, func(o *s3api.Options) {
		o.KeyLimit = func(bucket, key string) error {
			if len(key) > limit {
				return fmt.Errorf("keys in %s are at most %d bytes", bucket, limit)
			}
			return nil
		}
	})
	ctx := t.Context()
	for _, b := range []string{upload, "other"} {
		if _, err := e.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	long := strings.Repeat("k", limit+1)
	if _, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("other"), Key: aws.String(long), Body: strings.NewReader("x")}); err != nil {
		t.Errorf("a bucket without rules is not limited: %v", err)
	}
	if _, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(upload), Key: aws.String(strings.Repeat("k", limit)), Body: strings.NewReader("x")}); err != nil {
		t.Errorf("a key at the limit: %v", err)
	}
	before := len(e.events.records())
	writes := map[string]func() error{
		"PutObject": func() error {
			_, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(upload), Key: aws.String(long), Body: strings.NewReader("x")})
			return err
		},
		"CopyObject": func() error {
			_, err := e.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(upload), Key: aws.String(long), CopySource: aws.String("other/" + long)})
			return err
		},
		"CreateMultipartUpload": func() error {
			_, err := e.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(upload), Key: aws.String(long)})
			return err
		},
	}
	for name, write := range writes {
		err := write()
		wantCode(t, err, "KeyTooLongError", http.StatusBadRequest)
		if err == nil || !strings.Contains(err.Error(), "at most 20 bytes") {
			t.Errorf("%s: message lacks the reason: %v", name, err)
		}
	}
	if _, err := e.store.HeadObject(ctx, upload, long); !errors.Is(err, objstore.ErrNoSuchKey) {
		t.Errorf("refused key was stored: %v", err)
	}
	if n := len(e.events.records()); n != before {
		t.Errorf("%d events for refused writes", n-before)
	}
}
